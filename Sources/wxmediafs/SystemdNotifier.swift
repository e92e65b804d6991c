import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the service is doing (`Type=notify`): a datagram to `$NOTIFY_SOCKET`, as
/// sd_notify(3) does, so no libsystemd is needed. Without the variable it does nothing.
struct SystemdNotifier: Sendable {
    let socketPath: String

    init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@") else {
            return nil
        }
        socketPath = path
    }

    /// Sends `fields` (`READY=1`, `STOPPING=1`, `STATUS=…`), one per line; returns whether it went.
    @discardableResult
    func send(_ fields: String...) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        guard let address = UnixSocketAddress(path: socketPath) else { return false }
        let message = Array(fields.joined(separator: "\n").utf8)
        let sent = address.withSocketAddress { socketAddress, length in
            message.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, 0, socketAddress, length) }
        }
        return sent == message.count
    }
}
