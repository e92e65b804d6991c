import CoreMetrics
import Deadlines
import Synchronization
import WeChatMedia

/// The server's listing of each material type (`batchget_material`, 20 a page), crawled whole
/// and kept for `lifetime`: every listing spends the account's quota, so a folder listed twice in
/// a row costs one crawl, and callers that ask while a crawl runs wait for it (never two crawls
/// of one type at once). The crawl runs in the task of the caller that started it; the others
/// wait for its outcome with the project's one waiter. A crawl that fails (or whose caller gave
/// up) is not kept: its waiters get the error, and the next ask crawls again.
public final class MaterialListings: Sendable {
    /// A crawl that does not end by this many pages past what its first page announced is not
    /// the server's library (a page that never ends, a total that keeps growing): refused.
    static let slackPages = 5
    static let pageSize = 20

    private struct Crawl {
        var number: Int
        var outcome: Result<MaterialListing, any Error>
        var endedAt: Int64
        var stale = false
    }

    private struct State {
        var nextCrawl = 0
        /// The crawl under way per type, by number.
        var running: [MediaType: Int] = [:]
        /// The last crawl that ended per type: the listing while it is fresh, and the outcome a
        /// waiter stored after that crawl's answer reads.
        var ended: [MediaType: Crawl] = [:]
    }

    private let lister: any MaterialLister
    private let lifetimeNanoseconds: Int64
    private let clock: any MountClock
    private let state = Mutex(State())
    private let outcomes = Waiters<MediaType, Result<MaterialListing, any Error>>()

    public init(lister: any MaterialLister, lifetimeSeconds: Double, clock: any MountClock) {
        self.lister = lister
        self.lifetimeNanoseconds = Int64(max(0, lifetimeSeconds) * 1_000_000_000)
        self.clock = clock
    }

    /// The type's materials, newest first: the kept listing while it is younger than the
    /// lifetime, else a crawl's (the one running, or a new one).
    public func items(of type: MediaType) async throws -> [MaterialItem] {
        try await listing(of: type).items
    }

    /// `items(of:)` with when the crawl that read them started: what was added after that
    /// moment may be missing from them.
    public func listing(of type: MediaType) async throws -> MaterialListing {
        enum Role {
            case kept(MaterialListing)
            case wait(Int)
            case crawl(Int)
        }
        let now = clock.now()
        let role = state.withLock { state -> Role in
            if let last = state.ended[type], !last.stale, now - last.endedAt < lifetimeNanoseconds,
                case .success(let listing) = last.outcome
            {
                return .kept(listing)
            }
            if let running = state.running[type] { return .wait(running) }
            state.nextCrawl += 1
            state.running[type] = state.nextCrawl
            return .crawl(state.nextCrawl)
        }
        switch role {
        case .kept(let listing):
            return listing
        case .wait(let number):
            let outcome = await outcomes.wait(for: type, until: nil, timedOut: .failure(CancellationError())) {
                // The crawl may have ended before this waiter was stored.
                self.state.withLock { state in state.ended[type].flatMap { $0.number == number ? $0.outcome : nil } }
            }
            return try outcome.get()
        case .crawl(let number):
            let outcome: Result<MaterialListing, any Error>
            do {
                outcome = .success(MaterialListing(items: try await Self.crawl(type, with: lister), startedAt: now))
            } catch {
                outcome = .failure(error)
            }
            let endedAt = clock.now()
            state.withLock { state in
                state.running[type] = nil
                state.ended[type] = Crawl(number: number, outcome: outcome, endedAt: endedAt)
            }
            outcomes.answerAll(type, with: outcome)
            return try outcome.get()
        }
    }

    /// Forgets the type's listing: the next ask crawls (after this mount changed the library).
    public func invalidate(_ type: MediaType) {
        state.withLock { $0.ended[type]?.stale = true }
    }

    /// Every page of a type, from offset 0 until the total is reached or a page comes back
    /// empty. Material added during the crawl shifts the pages (newest first): an id seen twice
    /// is kept once. Each page is counted in the metrics, by type.
    static func crawl(_ type: MediaType, with lister: any MaterialLister) async throws -> [MaterialItem] {
        var items: [MaterialItem] = []
        var seen: Set<String> = []
        var offset = 0
        var pages = 0
        var announced: Int?
        let counter = Counter(label: "wxmediafs_material_list_pages_total", dimensions: [("type", type.rawValue)])
        while true {
            try Task.checkCancellation()
            let page = try await lister.listMaterial(type, offset: offset, count: pageSize)
            pages += 1
            counter.increment()
            let first = announced ?? page.totalCount
            announced = first
            for item in page.items where seen.insert(item.mediaID).inserted { items.append(item) }
            offset += page.items.count
            if page.items.isEmpty || offset >= page.totalCount { break }
            guard pages < first / pageSize + 1 + slackPages else {
                throw TransportError.invalidResponse(
                    "batchget_material for \(type.rawValue) did not end after \(pages) pages "
                        + "(the first page announced \(first) items)")
            }
        }
        Counter(label: "wxmediafs_material_list_crawls_total", dimensions: [("type", type.rawValue)]).increment()
        return items
    }
}

/// A type's materials as one crawl read them, newest first.
public struct MaterialListing: Sendable {
    public var items: [MaterialItem]
    /// When the crawl began (ns since 1970).
    public var startedAt: Int64
}
