import Articles
import Deadlines
import FUSEKit
import Foundation
import MediaCatalog
import Synchronization
import WeChatMedia

/// Drafts made elsewhere (the console, another tool) as folders of `/drafts/`: once per crawl of
/// `draft/batchget` (at most one per `--material-list-ttl`, one at a time), each draft the
/// catalog does not know becomes a folder named by `DraftFolderNames`, with an `.html` file per
/// article (its fields as front matter, its content as stored); a folder made this way whose
/// draft the crawl no longer shows (deleted or published elsewhere) goes. Editing a file
/// updates that article on the server, as for any folder.
final class ServerDrafts: Sendable {
    private struct State {
        /// When (the mount clock's seconds) the last crawl began.
        var crawledAt: Int64?
        var crawling = false
    }

    private let context: MountContext
    private let catalog: any DraftCatalog
    private let service: any DraftService
    private let builder: DraftBuilder
    private let builds: DraftBuilds
    private let state = Mutex(State())
    /// Listings that came during a crawl wait for its end (one key: there is one draft box).
    private let crawled = Waiters<Int, Void>()

    /// A listing longer than this many pages is not believed (a server whose pages never end).
    static let pageLimit = 500

    init(
        context: MountContext, catalog: any DraftCatalog, service: any DraftService, builder: DraftBuilder,
        builds: DraftBuilds
    ) {
        self.builds = builds
        self.context = context
        self.catalog = catalog
        self.service = service
        self.builder = builder
    }

    /// Brings `/drafts/` up to the server's draft box, crawling (in the caller's task) if the
    /// last crawl is too old; a listing during a crawl waits for it, as `MaterialListings` does.
    func refresh() async {
        enum Role { case fresh, wait, crawl }
        let now = context.clock.seconds
        let lifetime = context.settings.materialListSeconds
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

    /// Whether the crawl counts as this TTL's (a failed one does: the server is not asked again
    /// at once; one skipped for a running build does not).
    private func crawlAndApply() async -> Bool {
        var items: [DraftItem] = []
        do {
            var total = Int.max
            var pages = 0
            while items.count < total {
                pages += 1
                guard pages <= Self.pageLimit else {
                    throw TransportError.invalidResponse("draft/batchget pages never end")
                }
                let page = try await service.listDrafts(offset: items.count, count: 20, withContent: true)
                total = page.totalCount
                if page.items.isEmpty { break }
                items += page.items
            }
        } catch {
            context.reporter.report("list", of: "drafts", error)
            return true
        }
        // A draft a build of this mount made may be listed before its folder records the id:
        // while one runs, nothing is taken in (the next listing crawls again).
        guard !builds.isBuilding else { return false }
        do {
            try await apply(items)
        } catch {
            context.logger.error("cannot record the server's drafts: \(error)")
        }
        return true
    }

    private func apply(_ items: [DraftItem]) async throws {
        let folders = try await catalog.draftFolders(in: .drafts)
        // A folder submitted for publishing keeps its draft in the box until it is published.
        let known = Set(
            (folders + (try await catalog.draftFolders(in: DraftFolder.Location.published))).compactMap(\.draftID))
        let listed = Set(items.map(\.mediaID))
        for folder in folders where folder.origin == .server {
            guard let draftID = folder.draftID, !listed.contains(draftID), let id = folder.id else { continue }
            for file in try await catalog.deleteDraftFolder(id: id) {
                if let fileID = file.id { context.cache.removeDraftFile(id: fileID) }
            }
            context.logger.info("drafts/\(folder.name): the draft \(draftID) is no longer in the draft box")
        }
        var taken = Set(try await catalog.draftFolders(in: .drafts).map(\.name))
        // Oldest first: a name changes only when the draft that held it first goes.
        let oldestFirst = items.sorted { ($0.updateTime, $0.mediaID) < ($1.updateTime, $1.mediaID) }
        for item in oldestFirst where !known.contains(item.mediaID) && !item.articles.isEmpty {
            let name = DraftFolderNames.name(for: item, taken: taken)
            taken.insert(name)
            try await add(item, named: name)
        }
    }

    private func add(_ item: DraftItem, named name: String) async throws {
        let time = item.updateTime > 0 ? item.updateTime * 1_000_000_000 : context.clock.now()
        var folder = DraftFolder(
            name: name, origin: .server, state: .built, mode: 0o755, uid: context.settings.uid,
            gid: context.settings.gid, time: time)
        folder.draftID = item.mediaID
        folder.updateTime = item.updateTime
        let inserted = try await catalog.insertDraftFolder(folder)
        guard let folderID = inserted.id else { return }
        for (index, article) in item.articles.enumerated() {
            let fileName = DraftFolderNames.articleFileName(index: index, title: article.title)
            var file = try await catalog.insertDraftFile(
                DraftFile(
                    folderID: folderID, name: fileName, mode: 0o644, uid: context.settings.uid,
                    gid: context.settings.gid, time: time))
            guard let fileID = file.id else { continue }
            let bytes = Array(try ArticleText.html(of: article).utf8)
            let path = context.cache.draftFilePath(id: fileID)
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                throw FUSEError.io
            }
            file.size = Int64(bytes.count)
            file.contentHash = MaterialUploads.sha256(of: bytes)
            try await catalog.updateDraftFile(file)
        }
        // What the folder would send now is what the server holds: only an edit is sent again.
        var built = inserted
        built.builtArticles =
            await builder.articleHashes(folderID)
            ?? item.articles.map { _ in "server" }.joined(separator: "\n")
        try await catalog.updateDraftFolder(built)
    }
}
