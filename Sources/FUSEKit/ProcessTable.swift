#if canImport(Glibc)
import Glibc
#endif

/// What /proc says of the processes that make requests. FUSE names the calling thread (the
/// kernel's `current->pid`), not its process: two threads of one program are one opener.
///
/// Read with plain `read(2)` into a buffer and parsed as bytes: every file created asks once,
/// and building strings of the whole status file cost about 0.07 ms of each create.
public enum ProcessTable {
    /// The process (thread group) thread `id` belongs to; `id` itself when /proc cannot tell.
    public static func process(ofThread id: Int32) -> Int32 {
        guard id > 0 else { return id }
        return contents(of: "/proc/\(id)/status") { bytes in
            // "Tgid:\t1234\n", near the top of the file.
            let key = Array("\nTgid:".utf8)
            guard let start = bytes.firstRange(of: key) else { return nil }
            return number(in: bytes[start.upperBound...])
        } ?? id
    }

    /// Whether process `pid` exists and has not exited (a zombie, waiting for its parent to reap
    /// it, has exited).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        // "1234 (name) S ...": the state follows the last ')', since a name may hold one.
        let state: UInt8? = contents(of: "/proc/\(pid)/stat") { bytes in
            guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
            return bytes[(close + 1)...].first { $0 != UInt8(ascii: " ") }
        }
        guard let state else { return false }
        return state != UInt8(ascii: "Z")
    }

    /// The digits after leading blanks, as a process id; nil when there are none or too many.
    private static func number(in bytes: ArraySlice<UInt8>) -> Int32? {
        var value: Int32 = 0
        var digits = 0
        for byte in bytes {
            if digits == 0, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { break }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            value = shifted + Int32(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }

    /// `parse` of the first 4 KiB of the /proc file at `path` (what the fields asked for lie
    /// in); nil when it cannot be read.
    private static func contents<T>(of path: String, _ parse: ([UInt8]) -> T?) -> T? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        buffer.removeSubrange(count...)
        return parse(buffer)
    }
}
