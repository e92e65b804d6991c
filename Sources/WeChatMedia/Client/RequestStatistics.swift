import Synchronization

/// How many requests a connection sent, by kind, and how many of them failed in transport or
/// with a non-200 status. API errcodes arrive in 200 replies: they are not failures here, and
/// `wxmediafs status` lists them among the recent failures instead.
public final class RequestStatistics: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case token, upload, head, download, video, quota
        /// Permanent material: adds, gets, deletes, counts and article images; listings apart,
        /// since a crawl of the library is what spends the account's quota.
        case material
        case materialList = "material_list"
        /// The draft box and publishing (`draft/...`, `freepublish/...`).
        case draft, publish
    }

    public struct Count: Sendable, Equatable {
        public var sent = 0
        public var failed = 0
    }

    private let counts = Mutex<[Kind: Count]>([:])

    public init() {}

    func record(_ kind: Kind, failed: Bool) {
        APIMetrics.requestSent(kind, failed: failed)
        counts.withLock { counts in
            counts[kind, default: Count()].sent += 1
            if failed { counts[kind, default: Count()].failed += 1 }
        }
    }

    public func snapshot() -> [(kind: Kind, count: Count)] {
        let counts = counts.withLock { $0 }
        return Kind.allCases.compactMap { kind in counts[kind].map { (kind, $0) } }
    }

}
