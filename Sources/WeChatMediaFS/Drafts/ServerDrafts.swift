import Articles
import FUSEKit
import Foundation
import MediaCatalog
import WeChatMedia

/// Drafts made elsewhere (the console, another tool) as folders of `/drafts/`: once per crawl of
/// `draft/batchget` (at most one per `--material-list-ttl`, one at a time), each draft the
/// catalog does not know becomes a folder named by `DraftFolderNames`, with an `.html` file per
/// article (its fields as front matter, its content as stored); a folder made this way whose
/// draft the crawl no longer shows (deleted or published elsewhere) goes. Editing a file
/// updates that article on the server, as for any folder.
actor ServerDrafts {
    private let context: MountContext
    private let catalog: any DraftCatalog
    private let service: any DraftService
    private let builder: DraftBuilder
    private let builds: DraftBuilds
    /// When (the mount clock's seconds) the last crawl began, and the crawl in flight.
    private var crawledAt: Int64?
    private var crawl: Task<Void, Never>?

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

    /// Brings `/drafts/` up to the server's draft box, crawling if the last crawl is too old.
    func refresh() async {
        if let crawl {
            await crawl.value
            return
        }
        let now = context.clock.seconds
        if let crawledAt, Double(now - crawledAt) < context.settings.materialListSeconds { return }
        crawledAt = now
        let task = Task { await self.crawlAndApply() }
        crawl = task
        await task.value
        crawl = nil
    }

    private func crawlAndApply() async {
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
            return
        }
        // A draft a build of this mount made may be listed before its folder records the id:
        // while one runs, nothing is taken in (the next listing crawls again).
        guard await !builds.isBuilding else {
            crawledAt = nil
            return
        }
        do {
            try await apply(items)
        } catch {
            context.logger.error("cannot record the server's drafts: \(error)")
        }
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
            let bytes = Array(ServerArticleText.html(of: article).utf8)
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

/// Names of the folders and files the server's drafts are shown as. The rule, the same on
/// every listing:
/// - a folder is named by its first article's title: `/` and NUL become `_`, an empty title (or
///   `.`, `..`) is `draft`, a leading `.` becomes `_.` (no hidden folders), cut to 200 bytes at
///   a character boundary; a name already in `/drafts/` gets `~ID8`, the first 8 characters of
///   the draft's media id (more while still taken), the oldest draft (by `update_time`, then
///   id) naming first;
/// - each article is `N-TITLE.html`, N its place from 1, TITLE cleaned the same way and cut to
///   100 bytes (an article file, in the order of the draft).
enum DraftFolderNames {
    static func name(for item: DraftItem, taken: Set<String>) -> String {
        let plain = cleaned(item.articles.first?.title ?? "", limit: 200, fallback: "draft")
        var name = plain
        var length = 8
        while taken.contains(name) {
            name = plain + "~" + item.mediaID.prefix(length)
            guard length < item.mediaID.count else {
                name = plain + "~" + item.mediaID
                break
            }
            length += 8
        }
        return name
    }

    static func articleFileName(index: Int, title: String) -> String {
        "\(index + 1)-" + cleaned(title, limit: 100, fallback: "article") + ".html"
    }

    static func cleaned(_ text: String, limit: Int, fallback: String) -> String {
        var name = String(text.map { $0 == "/" || $0 == "\0" || $0.isNewline ? "_" : $0 })
        if name.hasPrefix(".") { name = "_" + name }
        var kept = ""
        for character in name {
            guard kept.utf8.count + String(character).utf8.count <= limit else { break }
            kept.append(character)
        }
        return kept.isEmpty ? fallback : kept
    }
}

/// A server article as the text of an HTML article file: its fields as front matter (quoted
/// YAML strings, so nothing reads as a number or a boolean), then the content as stored.
enum ServerArticleText {
    static func html(of article: DraftArticle) -> String {
        var lines = ["---", "title: " + quoted(article.title)]
        if !article.author.isEmpty { lines.append("author: " + quoted(article.author)) }
        if !article.digest.isEmpty { lines.append("digest: " + quoted(article.digest)) }
        if !article.thumbMediaID.isEmpty { lines.append("cover: " + quoted(article.thumbMediaID)) }
        if !article.contentSourceURL.isEmpty { lines.append("source_url: " + quoted(article.contentSourceURL)) }
        let comments: CommentPolicy =
            !article.needOpenComment ? .closed : article.onlyFansCanComment ? .fans : .open
        lines.append("comments: " + comments.rawValue)
        lines.append("---")
        return lines.joined(separator: "\n") + "\n" + article.content + (article.content.hasSuffix("\n") ? "" : "\n")
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
