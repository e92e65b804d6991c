#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random access to the bytes of a file under inspection, so the format checks can walk frame
/// headers without holding the whole file in memory.
public protocol ByteSource {
    /// The total length in bytes.
    var count: Int { get }
    /// Up to `length` bytes starting at `offset`; fewer only at the end of the source.
    mutating func bytes(at offset: Int, length: Int) throws -> ArraySlice<UInt8>
}

extension ByteSource {
    /// Exactly `length` bytes at `offset`, or nil when the source ends before that.
    mutating func exactly(at offset: Int, length: Int) throws -> ArraySlice<UInt8>? {
        guard offset >= 0, length >= 0, offset <= count - length else { return nil }
        let slice = try bytes(at: offset, length: length)
        return slice.count == length ? slice : nil
    }
}

/// Bytes already in memory (tests, fuzzing, small bodies).
public struct MemoryByteSource: ByteSource {
    private let storage: [UInt8]

    public init(_ bytes: [UInt8]) { self.storage = bytes }

    public var count: Int { storage.count }

    public mutating func bytes(at offset: Int, length: Int) throws -> ArraySlice<UInt8> {
        guard offset >= 0, offset < storage.count, length > 0 else { return [] }
        return storage[offset..<min(storage.count, offset + length)]
    }
}

/// A file read through `pread` with one cached window, so walking thousands of small frame
/// headers costs a handful of system calls. A class because it owns the descriptor.
public final class FileByteSource: ByteSource {
    public enum OpenError: Error, Equatable {
        case cannotOpen(path: String, errno: Int32)
        case readFailed(errno: Int32)
    }

    private let descriptor: Int32
    public let count: Int
    private var window: [UInt8] = []
    private var windowStart = 0
    private static let windowSize = 64 * 1024

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OpenError.cannotOpen(path: path, errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw OpenError.cannotOpen(path: path, errno: code)
        }
        self.descriptor = fd
        self.count = Int(info.st_size)
    }

    deinit { close(descriptor) }

    public func bytes(at offset: Int, length: Int) throws -> ArraySlice<UInt8> {
        guard offset >= 0, offset < count, length > 0 else { return [] }
        let wanted = min(length, count - offset)
        if offset < windowStart || offset + wanted > windowStart + window.count {
            try fill(from: offset, atLeast: wanted)
        }
        let start = offset - windowStart
        return window[start..<min(window.count, start + wanted)]
    }

    private func fill(from offset: Int, atLeast wanted: Int) throws {
        let size = max(Self.windowSize, wanted)
        var buffer = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let got = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return pread(descriptor, base + filled, size - filled, off_t(offset + filled))
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw OpenError.readFailed(errno: errno)
            }
            if got == 0 { break }
            filled += got
        }
        buffer.removeSubrange(filled...)
        window = buffer
        windowStart = offset
    }
}
