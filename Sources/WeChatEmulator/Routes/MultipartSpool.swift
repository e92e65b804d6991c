import Hummingbird
import MultipartKit
import NIOCore
import NIOFileSystem

/// What came in the `media` part of an upload, its bytes already on disk.
struct SpooledMedia {
    /// The part's `filename` parameter; nil when it had none.
    var filename: String?
    /// Whether the part named its file with RFC 2231's `filename*=`, which the platform refuses.
    var usesExtendedFilename = false
    var size: Int64 = 0
    /// The bytes went past `partLimit`; the rest were read and dropped.
    var overLimit = false
}

/// Streams a multipart body through MultipartKit's incremental parser, writing the first part
/// named `media` to a spool file and never holding more than one network chunk in memory.
struct MultipartSpool {
    enum Outcome {
        case media(SpooledMedia)
        case noMediaPart
        case malformed
        /// More than `bodyLimit` bytes arrived: the caller refuses without reading further.
        case bodyTooLarge
    }

    let boundary: String
    let spoolPath: String
    let partLimit: Int64
    let bodyLimit: Int

    /// Collects parser events between two writes; the parser's callbacks are synchronous.
    private final class Collector {
        var headers: [(String, String)] = []
        var inMedia = false
        var mediaDone = false
        var media: SpooledMedia?
        /// Body bytes since the last write, coalesced: the parser hands them over in small pieces.
        var pending = ByteBuffer()
        var partLimit: Int64 = 0

        func startBody() {
            guard !inMedia, !mediaDone, media == nil else { return }
            let disposition = headers.first { $0.0.lowercased() == "content-disposition" }.map {
                HeaderValue(parsing: $0.1)
            }
            guard let disposition, disposition.parameters["name"] == "media" else { return }
            inMedia = true
            media = SpooledMedia(
                filename: disposition.parameters["filename"],
                usesExtendedFilename: disposition.parameters["filename*"] != nil)
        }

        func body(_ buffer: ByteBuffer) {
            if media == nil, !mediaDone { startBody() }
            guard inMedia, var current = media else { return }
            current.size += Int64(buffer.readableBytes)
            if current.size > partLimit {
                current.overLimit = true
                pending.clear()
            } else {
                var buffer = buffer
                pending.writeBuffer(&buffer)
            }
            media = current
        }

        func partComplete() {
            if inMedia {
                inMedia = false
                mediaDone = true
            } else if media == nil, headers.contains(where: { $0.0.lowercased() == "content-disposition" }) {
                // An empty media part gets no body callback: still record it.
                startBody()
                if inMedia {
                    inMedia = false
                    mediaDone = true
                }
            }
            headers = []
        }
    }

    func run(_ body: RequestBody) async throws -> Outcome {
        let collector = Collector()
        collector.partLimit = partLimit
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in collector.headers.append((name, value)) }
        parser.onBody = { buffer in collector.body(buffer) }
        parser.onPartComplete = { collector.partComplete() }

        var received = 0
        let outcome: Outcome? = try await FileSystem.shared.withFileHandle(
            forWritingAt: FilePath(spoolPath), options: .newFile(replaceExisting: true)
        ) { handle in
            var offset: Int64 = 0
            for try await chunk in body {
                received += chunk.readableBytes
                if received > bodyLimit { return .bodyTooLarge }
                do {
                    try parser.execute(chunk)
                } catch {
                    return .malformed
                }
                if collector.pending.readableBytes > 0 {
                    try await handle.write(contentsOf: collector.pending.readableBytesView, toAbsoluteOffset: offset)
                    offset += Int64(collector.pending.readableBytes)
                    collector.pending.clear()
                }
            }
            return nil
        }
        if let outcome { return outcome }
        guard let media = collector.media else { return collector.mediaDone ? .malformed : .noMediaPart }
        return .media(media)
    }
}
