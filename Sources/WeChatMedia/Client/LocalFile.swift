import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A local file read or written with pread/pwrite on the calling thread. Uploads read a spool the
/// mount just wrote and downloads write the content cache, so the calls meet the page cache and
/// cost microseconds: less than a round trip to a thread pool for every chunk.
struct LocalFile: Sendable {
    let descriptor: Int32
    let path: String

    static func openForReading(_ path: String) throws -> LocalFile {
        try LocalFile(path: path, flags: O_RDONLY)
    }

    /// Created if missing, emptied if not.
    static func openForWriting(_ path: String) throws -> LocalFile {
        try LocalFile(path: path, flags: O_WRONLY | O_CREAT | O_TRUNC)
    }

    private init(path: String, flags: Int32) throws {
        let descriptor = open(path, flags | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LocalFileError(operation: "open", path: path, errno: errno) }
        self.descriptor = descriptor
        self.path = path
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    func size() throws -> Int64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw LocalFileError(operation: "stat", path: path, errno: errno) }
        return Int64(info.st_size)
    }

    /// Up to `length` bytes at `offset`; an empty buffer at the end of the file.
    func read(at offset: Int64, length: Int) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        try read(at: offset, length: length, appendingTo: &buffer)
        return buffer
    }

    /// Appends up to `length` bytes at `offset` to `buffer`; returns how many (0 at the end).
    @discardableResult
    func read(at offset: Int64, length: Int, appendingTo buffer: inout ByteBuffer) throws -> Int {
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { raw in
            let count = pread(descriptor, raw.baseAddress, length, off_t(offset))
            guard count >= 0 else { throw LocalFileError(operation: "read", path: path, errno: errno) }
            return count
        }
    }

    func write(_ bytes: ByteBuffer, at offset: Int64) throws {
        var written = 0
        try bytes.withUnsafeReadableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while written < raw.count {
                let count = pwrite(descriptor, base + written, raw.count - written, off_t(offset) + off_t(written))
                guard count > 0 else {
                    throw LocalFileError(operation: "write", path: path, errno: count < 0 ? errno : EIO)
                }
                written += count
            }
        }
    }
}

public struct LocalFileError: Error, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}
