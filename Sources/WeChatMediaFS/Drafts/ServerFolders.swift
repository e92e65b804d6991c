import Articles
import Deadlines
import FUSEKit
import Foundation
import MediaCatalog
import Synchronization
import WeChatMedia

/// What the account holds that this mount did not make, as folders: the draft box's drafts
/// (`draft/batchget`) in `/drafts/`, and published messages (`freepublish/batchget`) in
/// `/published/`. Once per crawl (at most one per `--material-list-ttl`, one at a time; for
/// `/published/`, whose listing the platform allows 100 times a day, at most one per
/// `publishedListFloor`), each item the catalog does not know becomes a folder named by
/// `DraftFolderNames`, with an `.html` file per article (its fields as front matter, its
/// content as stored); a folder made this way whose item the crawl no longer shows (deleted,
/// or published, elsewhere) goes. Editing a draft's file updates that article on the server;
/// a published folder is read-only.
final class ServerFolders: Sendable {
    /// One listed draft or published message.
    struct Listed: Sendable, Equatable {
        /// The draft's media id, or the message's article id.
        var id: String
        var updateTime: Int64
        var articles: [DraftArticle]
    }

    private struct State {
        /// When (the mount clock's seconds) the last crawl began.
        var crawledAt: Int64?
        var crawling = false
    }

    let location: DraftFolder.Location
    private let context: MountContext
    private let catalog: any DraftCatalog
    private let service: any DraftService
    private let builder: DraftBuilder
    private let builds: DraftBuilds
    private let bytes: DraftFileBytes
    private let state = Mutex(State())
    /// Listings that came during a crawl wait for its end (one key: there is one listing).
    private let crawled = Waiters<Int, Void>()

    /// A listing longer than this many pages is not believed (a server whose pages never end).
    static let pageLimit = 500
    /// The shortest time between two crawls of `/published/`, in seconds: 48 a day at most.
    static let publishedListFloor: Double = 1800

    init(
        _ location: DraftFolder.Location, context: MountContext, catalog: any DraftCatalog,
        service: any DraftService, builder: DraftBuilder, builds: DraftBuilds, bytes: DraftFileBytes
    ) {
        self.location = location
        self.context = context
        self.catalog = catalog
        self.service = service
        self.builder = builder
        self.builds = builds
        self.bytes = bytes
    }

    /// Brings the folder up to the server's listing, crawling (in the caller's task) if the
    /// last crawl is too old; a listing during a crawl waits for it, as `MaterialListings` does.
    func refresh() async {
        enum Role { case fresh, wait, crawl }
        let now = context.clock.seconds
        let lifetime =
            location == .published
            ? max(context.settings.materialListSeconds, Self.publishedListFloor) : context.settings.materialListSeconds
        let role = state.withLock { state -> Role in
            if state.crawling { return .wait }
            if let at = state.crawledAt, Double(now - at) < lifetime { return .fresh }
            (state.crawling, state.crawledAt) = (true, now)
            return .crawl
        }
        switch role {
        case .fresh:
            return
        case .wait:
            await crawled.wait(for: 0, until: nil, timedOut: ()) { self.state.withLock { $0.crawling } ? nil : () }
        case .crawl:
            let kept = await crawlAndApply()
            state.withLock { state in
                state.crawling = false
                if !kept { state.crawledAt = nil }
            }
            crawled.answerAll(0, with: ())
        }
    }

    private func page(offset: Int) async throws -> ListingPage<Listed> {
        switch location {
        case .drafts:
            let page = try await service.listDrafts(offset: offset, count: 20, withContent: true)
            return ListingPage(
                totalCount: page.totalCount,
                items: page.items.map { Listed(id: $0.mediaID, updateTime: $0.updateTime, articles: $0.articles) })
        case .published:
            let page = try await service.listPublished(offset: offset, count: 20, withContent: true)
            return ListingPage(
                totalCount: page.totalCount,
                items: page.items.map { Listed(id: $0.articleID, updateTime: $0.updateTime, articles: $0.articles) })
        }
    }

    /// Whether the crawl counts as this TTL's (a failed one does: the server is not asked again
    /// at once; one skipped for a running build does not).
    private func crawlAndApply() async -> Bool {
        var items: [Listed] = []
        do {
            var total = Int.max
            var pages = 0
            while items.count < total {
                pages += 1
                guard pages <= Self.pageLimit else {
                    throw TransportError.invalidResponse("\(location.rawValue) listing pages never end")
                }
                let page = try await page(offset: items.count)
                total = page.totalCount
                if page.items.isEmpty { break }
                items += page.items
            }
        } catch {
            context.reporter.report("list", of: location.rawValue, error)
            return true
        }
        switch location {
        case .drafts:
            // A draft a build made may be listed before its folder records the id: while one
            // runs here, or a folder is being built anywhere in the fleet, nothing is taken in
            // (the next listing crawls again).
            guard !builds.isBuilding, (try? await catalog.draftFolders(in: .building))?.isEmpty == true else {
                return false
            }
        case .published:
            // A message this mount submitted may be listed before its job's poll records the
            // article id: while a job publishes, nothing is taken in (the crawl still counts:
            // the platform allows few of them).
            guard (try? await catalog.draftFolders(in: .publishing))?.isEmpty == true else { return true }
        }
        do {
            try await apply(items)
        } catch {
            context.logger.error("cannot record the server's \(location.rawValue): \(error)")
        }
        return true
    }

    /// The server's id of a folder of this location.
    private func serverID(of folder: DraftFolder) -> String? {
        location == .drafts ? folder.draftID : folder.articleID
    }

    private func apply(_ items: [Listed]) async throws {
        let folders = try await catalog.draftFolders(in: location)
        var known = Set(folders.compactMap(serverID))
        if location == .drafts {
            // A folder submitted for publishing keeps its draft in the box until it is published.
            known.formUnion(try await catalog.draftFolders(in: DraftFolder.Location.published).compactMap(\.draftID))
        }
        let listed = Set(items.map(\.id))
        var removed: Set<Int64> = []
        for folder in folders where folder.origin == .server {
            guard let id = serverID(of: folder), !listed.contains(id), let folderID = folder.id else { continue }
            for file in try await catalog.deleteDraftFolder(id: folderID) {
                if let fileID = file.id { bytes.remove(id: fileID) }
            }
            removed.insert(folderID)
            context.logger.info("\(location.rawValue)/\(folder.name): \(id) is no longer listed by the server")
        }
        // The names as read with the known ids: a host of the fleet that took an item in since
        // holds the very name this one would give it, so this insert fails instead of doubling it.
        var taken = Set(folders.filter { !removed.contains($0.id ?? 0) }.map(\.name))
        // Oldest first: a name changes only when the item that held it first goes.
        let oldestFirst = items.sorted { ($0.updateTime, $0.id) < ($1.updateTime, $1.id) }
        for item in oldestFirst where !known.contains(item.id) && !item.articles.isEmpty {
            let name = DraftFolderNames.name(firstTitle: item.articles.first?.title ?? "", id: item.id, taken: taken)
            taken.insert(name)
            do {
                try await add(item, named: name)
            } catch CatalogError.nameTaken {
                // Another host of the fleet took it in first.
                continue
            }
        }
    }

    private func add(_ item: Listed, named name: String) async throws {
        let time = item.updateTime > 0 ? item.updateTime * 1_000_000_000 : context.clock.now()
        var folder = DraftFolder(
            location: location, name: name, origin: .server, state: location == .drafts ? .built : .published,
            mode: location == .drafts ? 0o755 : 0o555, uid: context.settings.uid, gid: context.settings.gid,
            time: time)
        folder.updateTime = item.updateTime
        switch location {
        case .drafts:
            folder.draftID = item.id
        case .published:
            folder.articleID = item.id
            folder.publishStatus = PublishState.published.rawValue
            folder.articleURLs = item.articles.map { $0.url ?? "" }.joined(separator: "\n")
        }
        let inserted = try await catalog.insertDraftFolder(folder)
        guard let folderID = inserted.id else { return }
        for (index, article) in item.articles.enumerated() {
            let fileName = DraftFolderNames.articleFileName(index: index, title: article.title)
            var file = try await catalog.insertDraftFile(
                DraftFile(
                    folderID: folderID, name: fileName, mode: location == .drafts ? 0o644 : 0o444,
                    uid: context.settings.uid, gid: context.settings.gid, time: time))
            guard let fileID = file.id else { continue }
            let text = Array(try ArticleText.html(of: article).utf8)
            let contentHash = MaterialUploads.sha256(of: text)
            try await bytes.write(text, id: fileID, contentHash: contentHash)
            file.size = Int64(text.count)
            file.contentHash = contentHash
            try await catalog.updateDraftFile(file)
        }
        guard location == .drafts else { return }
        // What the folder would send now is what the server holds: only an edit is sent again.
        var built = inserted
        built.builtArticles =
            await builder.articleHashes(folderID)
            ?? item.articles.map { _ in "server" }.joined(separator: "\n")
        try await catalog.updateDraftFolder(built)
    }
}
