import CoreMetrics
import WeChatMedia

/// One page of the server's material library: what the listing needs of the client.
public protocol MaterialLister: Sendable {
    func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage
}

extension WeChatMediaClient: MaterialLister {}

/// The server's listing of each material type (`batchget_material`, 20 a page), crawled whole
/// and kept for `lifetime`: every listing spends the account's quota, so a folder listed twice in
/// a row costs one crawl, and callers that ask while a crawl runs share it (never two crawls of
/// one type at once). A crawl that fails is not kept: the next ask crawls again. A crawl is a
/// task of its own, awaited by everyone who asked for it (a caller that gives up does not stop
/// it for the others) and cancelled with the listings.
public actor MaterialListings {
    /// A crawl that does not end by this many pages past what its first page announced is not
    /// the server's library (a page that never ends, a total that keeps growing): refused.
    static let slackPages = 5
    static let pageSize = 20

    private struct Listing {
        var items: [MaterialItem]
        var takenAt: Int64
    }

    private let lister: any MaterialLister
    private let lifetimeNanoseconds: Int64
    private let clock: any MountClock
    private var listings: [MediaType: Listing] = [:]
    private var crawls: [MediaType: Task<[MaterialItem], any Error>] = [:]

    public init(lister: any MaterialLister, lifetimeSeconds: Double, clock: any MountClock) {
        self.lister = lister
        self.lifetimeNanoseconds = Int64(max(0, lifetimeSeconds) * 1_000_000_000)
        self.clock = clock
    }

    deinit {
        for crawl in crawls.values { crawl.cancel() }
    }

    /// The type's materials, newest first: the kept listing while it is younger than the
    /// lifetime, else a crawl's (the one running, or a new one).
    public func items(of type: MediaType) async throws -> [MaterialItem] {
        if let listing = listings[type], clock.now() - listing.takenAt < lifetimeNanoseconds {
            return listing.items
        }
        let crawl: Task<[MaterialItem], any Error>
        if let running = crawls[type] {
            crawl = running
        } else {
            let lister = self.lister
            crawl = Task { try await Self.crawl(type, with: lister) }
            crawls[type] = crawl
        }
        do {
            let items = try await crawl.value
            finish(type, crawl, with: items)
            return items
        } catch {
            finish(type, crawl, with: nil)
            throw error
        }
    }

    /// Forgets the type's listing: the next ask crawls (after this mount changed the library).
    public func invalidate(_ type: MediaType) {
        listings[type] = nil
    }

    private func finish(_ type: MediaType, _ crawl: Task<[MaterialItem], any Error>, with items: [MaterialItem]?) {
        // Only the first waiter to return stores it; a newer crawl is not overwritten.
        guard crawls[type] == crawl else { return }
        crawls[type] = nil
        if let items { listings[type] = Listing(items: items, takenAt: clock.now()) }
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
