import Synchronization

/// How many requests a connection sent, by kind, and how many of them failed in transport or
/// with a non-200 status (API errcodes arrive in 200 replies and are counted by their callers).
public final class RequestStatistics: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case token, upload, head, download, video
    }

    public struct Count: Sendable, Equatable {
        public var sent = 0
        public var failed = 0
    }

    private let counts = Mutex<[Kind: Count]>([:])

    public init() {}

    func record(_ kind: Kind, failed: Bool) {
        counts.withLock { counts in
            counts[kind, default: Count()].sent += 1
            if failed { counts[kind, default: Count()].failed += 1 }
        }
    }

    public func snapshot() -> [(kind: Kind, count: Count)] {
        let counts = counts.withLock { $0 }
        return Kind.allCases.compactMap { kind in counts[kind].map { (kind, $0) } }
    }

    /// The kind of a request, from its method and path.
    static func kind(method: String, path: String) -> Kind {
        if path.hasSuffix("/cgi-bin/token") || path.hasSuffix("/cgi-bin/stable_token") { return .token }
        if path.hasSuffix("/cgi-bin/media/upload") { return .upload }
        if path.hasSuffix("/cgi-bin/media/get") { return method == "HEAD" ? .head : .download }
        return .video
    }
}
