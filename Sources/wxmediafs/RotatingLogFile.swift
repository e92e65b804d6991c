import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemon's log file: appended to, and when it passes `maxBytes` renamed to `NAME.1` (older
/// ones shift to `.2` … `.keep`) and started afresh. Standard error follows the current file, so
/// a crash report lands beside the last log lines.
final class RotatingLogFile: Sendable {
    let path: String
    let maxBytes: Int64
    let keep: Int
    private struct State {
        var descriptor: Int32
        var size: Int64
    }
    private let state: Mutex<State>

    init(path: String, maxBytes: Int64 = 10 << 20, keep: Int = 3) throws {
        self.path = path
        self.maxBytes = maxBytes
        self.keep = keep
        let descriptor = try Self.openAppending(path)
        var info = stat()
        fstat(descriptor, &info)
        state = Mutex(State(descriptor: descriptor, size: Int64(info.st_size)))
        dup2(descriptor, STDERR_FILENO)
    }

    func write(_ line: String) {
        state.withLock { state in
            var bytes = Array(line.utf8)
            if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
            if state.size > 0, state.size + Int64(bytes.count) > maxBytes { rotate(&state) }
            let written = bytes.withUnsafeBytes { Glibc.write(state.descriptor, $0.baseAddress, $0.count) }
            if written > 0 { state.size += Int64(written) }
        }
    }

    private func rotate(_ state: inout State) {
        for index in stride(from: keep - 1, through: 1, by: -1) {
            rename("\(path).\(index)", "\(path).\(index + 1)")
        }
        rename(path, "\(path).1")
        guard let descriptor = try? Self.openAppending(path) else { return }  // keep writing to the old file
        close(state.descriptor)
        state.descriptor = descriptor
        state.size = 0
        dup2(descriptor, STDERR_FILENO)
    }

    private static func openAppending(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
        return descriptor
    }
}
