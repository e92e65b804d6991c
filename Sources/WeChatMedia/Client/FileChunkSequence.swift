import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A file's first `end` bytes, `chunkLength` at a time, read on the consuming task.
struct FileChunkSequence: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let file: LocalFile
    let end: Int64
    let chunkLength: Int

    func makeAsyncIterator() -> Iterator {
        Iterator(file: file, offset: 0, end: end, chunkLength: chunkLength)
    }

    struct Iterator: AsyncIteratorProtocol {
        let file: LocalFile
        var offset: Int64
        let end: Int64
        let chunkLength: Int

        mutating func next() async throws -> ByteBuffer? {
            guard offset < end else { return nil }
            let chunk = try file.read(at: offset, length: Int(Swift.min(Int64(chunkLength), end - offset)))
            // A file that shrank under us would otherwise send a body shorter than its length.
            guard chunk.readableBytes > 0 else {
                throw LocalFileError(operation: "read", path: file.path, errno: EIO)
            }
            offset += Int64(chunk.readableBytes)
            return chunk
        }
    }
}
