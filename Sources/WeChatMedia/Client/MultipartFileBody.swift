import AsyncHTTPClient
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The `multipart/form-data` body of an upload: text fields first, then one part named `media`
/// whose bytes stream from a file, framed by a preamble and epilogue built here. Its length is
/// known before the first byte.
struct MultipartFileBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let boundary: String
    let preamble: ByteBuffer
    let epilogue: ByteBuffer
    let fileChunks: FileChunkSequence
    let fileSize: Int64
    /// Told the file bytes handed to the connection so far, after each chunk.
    let progress: @Sendable (Int64) -> Void

    init(
        fileChunks: FileChunkSequence, fileSize: Int64, filename: String, fields: [(name: String, value: String)] = [],
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) {
        let boundary =
            "wxmediafs-" + String(UInt64.random(in: .min ... .max), radix: 36)
            + String(UInt64.random(in: .min ... .max), radix: 36)
        self.boundary = boundary
        let fieldParts = fields.map { field in
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(Self.quoted(field.name))\"\r\n\r\n\(field.value)\r\n"
        }
        self.preamble = ByteBuffer(
            string: fieldParts.joined() + "--\(boundary)\r\n"
                + "Content-Disposition: form-data; name=\"media\"; filename=\"\(Self.quoted(filename))\"; filelength=\(fileSize)\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n")
        self.epilogue = ByteBuffer(string: "\r\n--\(boundary)--\r\n")
        self.fileChunks = fileChunks
        self.fileSize = fileSize
        self.progress = progress
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// A name as a quoted header parameter, raw UTF-8 kept (the platform shows it; RFC 2231's
    /// `filename*=` is refused), with `"`, CR and LF escaped as HTML forms do: no name can end
    /// the parameter or the header early.
    static func quoted(_ name: String) -> String {
        name.replacingOccurrences(of: "\"", with: "%22").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }
    var length: Int64 { Int64(preamble.readableBytes) + fileSize + Int64(epilogue.readableBytes) }

    /// The request's body. A file no longer than one chunk goes as one buffer, framing and bytes
    /// together: the memory of one chunk of a stream, but one write to the connection instead of
    /// a task that hands the connection a part at a time (for 50 KiB, a tenth of an upload's
    /// time on a loopback). A longer file streams.
    func requestBody() throws -> HTTPClientRequest.Body {
        guard fileSize <= Int64(fileChunks.chunkLength), fileChunks.end == fileSize else {
            return .stream(self, length: .known(length))
        }
        var whole = ByteBufferAllocator().buffer(capacity: Int(length))
        whole.writeImmutableBuffer(preamble)
        let count = try fileChunks.file.read(at: 0, length: Int(fileSize), appendingTo: &whole)
        // A file that shrank under us would otherwise send a body shorter than its length.
        guard count == fileSize else {
            throw LocalFileError(operation: "read", path: fileChunks.file.path, errno: EIO)
        }
        whole.writeImmutableBuffer(epilogue)
        progress(fileSize)
        return .bytes(whole)
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(body: self, chunks: fileChunks.makeAsyncIterator())
    }

    struct Iterator: AsyncIteratorProtocol {
        enum Stage { case preamble, file, done }
        let body: MultipartFileBody
        var chunks: FileChunkSequence.Iterator
        var stage = Stage.preamble
        var sent: Int64 = 0

        mutating func next() async throws -> ByteBuffer? {
            switch stage {
            case .preamble:
                stage = .file
                return body.preamble
            case .file:
                if let chunk = try await chunks.next() {
                    sent += Int64(chunk.readableBytes)
                    body.progress(sent)
                    return chunk
                }
                stage = .done
                return body.epilogue
            case .done:
                return nil
            }
        }
    }
}
