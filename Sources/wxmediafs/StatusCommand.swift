import ArgumentParser
import Foundation
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what a running mount is doing.",
        discussion: """
            Asks the mount at MOUNTPOINT, over the Unix socket in its cache dir (only the user who \
            mounted can open it), for: uploads and downloads in flight with their progress, recent \
            failures with errno, errcode and errmsg, cache usage against its cap, the age of the \
            access token (never the token), and the requests sent, by kind. It never talks to the \
            network.
            """
    )

    @Argument(help: "Where the filesystem is mounted.")
    var mountpoint: String

    @Flag(help: "Print the answer as JSON, as the mount sent it.")
    var json = false

    func run() throws {
        let document = try StatusClient.fetch(mountpoint: MountPoint.absolute(mountpoint))
        if json {
            print(String(decoding: document, as: UTF8.self))
            return
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let status = try decoder.decode(MountStatus.self, from: Data(document))
        print(StatusReport(status: status, now: Date()).text, terminator: "")
    }
}

/// Finds a mount's status socket (the root's `user.wechat.status_socket` attribute) and reads its answer.
enum StatusClient {
    static let socketAttribute = "user.wechat.status_socket"

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func fetch(mountpoint: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes {
            systemGetxattr(mountpoint, socketAttribute, $0.baseAddress, $0.count)
        }
        guard length > 0 else {
            throw Failure(
                description: "\(mountpoint) is not a running wxmediafs mount (\(String(cString: strerror(errno))))")
        }
        let path = String(decoding: buffer.prefix(length), as: UTF8.self)
        guard let address = UnixSocketAddress(path: path) else { throw Failure(description: "bad socket path \(path)") }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let connected = address.withSocketAddress { connect(descriptor, $0, $1) }
        guard connected == 0 else {
            throw Failure(description: "cannot reach the mount at \(path): \(String(cString: strerror(errno)))")
        }
        var document: [UInt8] = []
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw Failure(description: "reading the status: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return document }
            document += buffer.prefix(count)
        }
    }
}

/// The human form of a status answer.
struct StatusReport {
    let status: MountStatus
    let now: Date

    var text: String {
        var lines = [
            "wxmediafs at \(status.mountpoint), api \(status.apiBase), up \(Self.duration(now.timeIntervalSince(status.startedAt)))"
        ]
        lines.append("")
        if status.transfers.isEmpty {
            lines.append("Transfers: none in flight")
        } else {
            lines.append("Transfers in flight:")
            for transfer in status.transfers {
                lines.append("  " + Self.line(transfer, now: now))
            }
        }
        lines.append("")
        if status.recentFailures.isEmpty {
            lines.append("Recent failures: none")
        } else {
            lines.append("Recent failures (newest last):")
            let format = ISO8601DateFormatter()
            for failure in status.recentFailures {
                let code = failure.errcode.map { "errcode \($0), " } ?? ""
                lines.append(
                    "  \(format.string(from: failure.at))  \(failure.operation) \(failure.name): \(failure.errno) (\(code)\(failure.errmsg))"
                )
            }
        }
        lines.append("")
        let share = status.cacheMaxBytes > 0 ? Double(status.cacheBytes) / Double(status.cacheMaxBytes) : 0
        lines.append(
            "Cache: \(Self.bytes(status.cacheBytes)) of \(Self.bytes(status.cacheMaxBytes)) \(Self.bar(share)) \(Int(share * 100))%"
        )
        lines.append(
            "Access token: " + (status.tokenAgeSeconds.map { Self.duration($0) + " old" } ?? "none fetched yet"))
        let requests = status.requests.map { "\($0.kind) \($0.sent)" + ($0.failed > 0 ? " (\($0.failed) failed)" : "") }
        lines.append("Requests: " + (requests.isEmpty ? "none yet" : requests.joined(separator: ", ")))
        return lines.joined(separator: "\n") + "\n"
    }

    static func line(_ transfer: MountStatus.Transfer, now: Date) -> String {
        let elapsed = duration(now.timeIntervalSince(transfer.startedAt))
        guard let total = transfer.bytesTotal, total > 0 else {
            return "\(transfer.kind.rawValue)  \(transfer.name)  \(bytes(transfer.bytesDone))  \(elapsed)"
        }
        let share = min(1, Double(transfer.bytesDone) / Double(total))
        return
            "\(transfer.kind.rawValue)  \(transfer.name)  \(bar(share)) \(Int(share * 100))%  \(bytes(transfer.bytesDone)) of \(bytes(total))  \(elapsed)"
    }

    static func bar(_ share: Double, width: Int = 20) -> String {
        let filled = max(0, min(width, Int((share * Double(width)).rounded(.down))))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds))
        if whole < 60 { return String(format: "%.1f s", max(0, seconds)) }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}

// <sys/xattr.h>, which Glibc's module does not export.
@_silgen_name("getxattr")
private func systemGetxattr(
    _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int
) -> Int
