import Articles
import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// `/drafts/` and `/published/`: article folders. A folder of `/drafts/` holds Markdown or HTML
/// articles and their pictures (`Articles` says what each name is); once it is whole and has been
/// left alone for the settle time it becomes a draft of the account (`DraftBuilds`), and each
/// later change updates it. `mv` of a folder to `/published/` submits it (`PublishWatcher`
/// follows the job). Folders are flat: the files' bytes live in the cache dir, their names and
/// the draft's state in the catalog.
struct DraftsTree: MediaTree, DerivedAttributes {
    let context: MountContext
    let catalog: any DraftCatalog
    let service: any DraftService
    let builds: DraftBuilds
    let publishing: PublishWatcher
    let delivery: DraftFileDelivery
    let serverDrafts: ServerFolders
    let serverPublished: ServerFolders
    let bytes: DraftFileBytes

    /// The largest file of an article folder: the largest picture the platform takes.
    static let fileSizeLimit = Int64(PictureUpload.materialImageLimit)

    init(context: MountContext, catalog: any DraftCatalog, service: any DraftService, material: MaterialTree) {
        self.context = context
        self.catalog = catalog
        self.service = service
        let bytes = DraftFileBytes(cache: context.cache, catalog: catalog)
        self.bytes = bytes
        let builder = DraftBuilder(
            context: context, catalog: catalog, service: service, bytes: bytes,
            pictures: ArticlePictures(context: context, material: material))
        let builds = DraftBuilds(
            builder: builder, settle: context.settings.draftSettle, retryDelay: context.settings.draftRetryDelay)
        self.builds = builds
        self.publishing = PublishWatcher(context: context, catalog: catalog, service: service)
        self.delivery = DraftFileDelivery(context: context, catalog: catalog, builds: builds, bytes: bytes)
        self.serverDrafts = ServerFolders(
            .drafts, context: context, catalog: catalog, service: service, builder: builder, builds: builds,
            bytes: bytes)
        self.serverPublished = ServerFolders(
            .published, context: context, catalog: catalog, service: service, builder: builder, builds: builds,
            bytes: bytes)
    }

    var topFolders: [(name: String, node: Node)] {
        [("drafts", .draftsRoot), ("published", .publishedRoot)]
    }

    func owns(_ node: Node) -> Bool {
        switch node {
        case .draftsRoot, .publishedRoot, .draftFolder, .draftFile: true
        default: false
        }
    }

    static func location(of node: Node) -> DraftFolder.Location? {
        switch node {
        case .draftsRoot: .drafts
        case .publishedRoot: .published
        default: nil
        }
    }

    static func displayPath(of folder: DraftFolder, file: String? = nil) -> String {
        "\(folder.location.rawValue)/\(folder.name)" + (file.map { "/" + $0 } ?? "")
    }

    // MARK: Lookup and attributes

    func lookup(_ name: String, in parent: Node) async throws -> Entry {
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
        switch parent {
        case .draftsRoot, .publishedRoot:
            guard let location = Self.location(of: parent),
                let folder = try await catalog.draftFolder(in: location, named: name)
            else { return context.negative }
            return context.entry(attributes(of: folder))
        case .draftFolder(let folderID):
            guard let file = try await catalog.draftFile(in: folderID, named: name) else { return context.negative }
            let (attributes, timeout) = currentAttributes(of: file)
            return context.entry(attributes, timeout: timeout)
        default:
            throw FUSEError.notDirectory
        }
    }

    func attributes(of node: Node) async throws -> (FileAttributes, timeout: Double) {
        switch node {
        case .draftsRoot, .publishedRoot:
            return (context.fixedFolderAttributes(node, permissions: 0o755), context.settings.cacheTimeout)
        case .draftFolder(let id):
            guard let folder = try await catalog.draftFolder(id: id) else { throw FUSEError.notFound }
            return (attributes(of: folder), context.settings.cacheTimeout)
        case .draftFile(let id):
            guard let file = try await catalog.draftFile(id: id) else { throw FUSEError.notFound }
            return currentAttributes(of: file)
        default:
            throw FUSEError.notFound
        }
    }

    func attributes(of folder: DraftFolder) -> FileAttributes {
        FileAttributes(
            inode: Node.draftFolder(folder.id ?? 0).inode, kind: .directory, permissions: folder.mode, links: 2,
            uid: folder.uid, gid: folder.gid, size: 4096, accessTime: .init(nanoseconds: folder.modificationTime),
            modificationTime: .init(nanoseconds: folder.modificationTime),
            changeTime: .init(nanoseconds: folder.changeTime))
    }

    /// While a file is written its spool's size, uncached; else what was closed.
    func currentAttributes(of file: DraftFile) -> (FileAttributes, timeout: Double) {
        var attributes = FileAttributes(
            inode: Node.draftFile(file.id ?? 0).inode, kind: .file, permissions: file.mode, uid: file.uid,
            gid: file.gid, size: UInt64(max(0, file.size)), accessTime: .init(nanoseconds: file.accessTime),
            modificationTime: .init(nanoseconds: file.modificationTime), changeTime: .init(nanoseconds: file.changeTime)
        )
        if let writer = context.openFiles.writeHandles(of: attributes.inode).first {
            if let size = writer.spoolSize() { attributes.size = UInt64(size) }
            return (attributes, 0)
        }
        return (attributes, context.settings.cacheTimeout)
    }

    // MARK: Listings

    /// Offsets past 2: a folder (or file) id plus 10, stable while names come and go.
    func listing(of node: Node, past offset: Int64) async throws -> [DirectoryEntry] {
        switch node {
        case .draftsRoot, .publishedRoot:
            guard let location = Self.location(of: node) else { return [] }
            // A listing from its start brings in what was made or published elsewhere (a crawl
            // at most once per TTL); should it fail, what the catalog holds is listed, the
            // failure logged.
            if offset <= 2 { await (node == .draftsRoot ? serverDrafts : serverPublished).refresh() }
            return try await catalog.draftFolders(in: location).compactMap { folder in
                guard let id = folder.id, Node.entryIDs.contains(id), id + 10 > offset else { return nil }
                return DirectoryEntry(name: folder.name, attributes: attributes(of: folder), offset: id + 10)
            }
        case .draftFolder(let folderID):
            return try await catalog.draftFiles(in: folderID).compactMap { file in
                guard let id = file.id, Node.entryIDs.contains(id), id + 10 > offset else { return nil }
                let (attributes, timeout) = currentAttributes(of: file)
                return DirectoryEntry(name: file.name, attributes: attributes, offset: id + 10, cacheTimeout: timeout)
            }
        default:
            throw FUSEError.notDirectory
        }
    }

    // MARK: Extended attributes

    /// On a folder: its state, its draft's id, what it waits for, why it failed, and once
    /// submitted the job's `publish_status` and each article's URL (one per line).
    func wechatAttributes(of node: Node) async throws -> [String: String] {
        guard case .draftFolder(let id) = node, let folder = try await catalog.draftFolder(id: id) else { return [:] }
        let prefix = WeChatAttributes.prefix
        var attributes = [prefix + "state": folder.state.rawValue]
        if let draftID = folder.draftID { attributes[prefix + "media_id"] = draftID }
        if let error = folder.error { attributes[prefix + "error"] = error }
        if let waiting = folder.waitingFor, folder.state == .waiting { attributes[prefix + "waiting_for"] = waiting }
        if let status = folder.publishStatus { attributes[prefix + "publish_status"] = String(status) }
        if let publishID = folder.publishID { attributes[prefix + "publish_id"] = publishID }
        if let urls = folder.articleURLs, !urls.isEmpty { attributes[prefix + "article_url"] = urls }
        return attributes
    }
}
