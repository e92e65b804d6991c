import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// The temporary-media folders `/image /voice /video /thumb`: what is copied in is uploaded on
/// `close()`, each uploaded file shows its id in a `NAME.media_id` sidecar, subfolders are the
/// catalog's own, and a name lives as long as its media. Three rules shape every operation and
/// each lives in one file: the sidecars (+Sidecars), the background queue's overlay of what the
/// catalog says (+Queue), and expiry (`Expiry`, through which every catalog read goes).
struct TemporaryMediaTree: MediaTree {
    let context: MountContext
    let uploader: Uploader
    /// Files closed in `background` mode (and any an earlier run left queued), until uploaded.
    let queue: UploadQueue
    /// Where a closed file's bytes go: `uploader` (sync) or `queue` (background).
    let uploads: UploadRoute
    let folderTypes = FolderTypes()
    /// Sidecar names written lately under `--sidecars off`.
    let discardedSidecars = DiscardedSidecars()

    init(context: MountContext) {
        self.context = context
        let uploader = Uploader(
            catalog: context.catalog, cache: context.cache, service: context.service, budget: context.budget,
            activity: context.activity, reporter: context.reporter, clock: context.clock,
            kernelCache: context.kernelCache, logger: context.logger)
        self.uploader = uploader
        let queue = UploadQueue(
            concurrency: context.settings.uploadConcurrency, retryDelay: context.settings.queuedUploadRetryDelay,
            cache: context.cache, uploads: uploader, logger: context.logger)
        self.queue = queue
        self.uploads = UploadRoute(
            uploader: uploader, queue: context.settings.uploadMode == .background ? queue : nil)
    }

    var topFolders: [(name: String, node: Node)] { MediaType.allCases.map { ($0.rawValue, .typeFolder($0)) } }

    func owns(_ node: Node) -> Bool {
        switch node {
        case .typeFolder, .entry, .sidecar: true
        default: false
        }
    }

    var catalog: any Catalog { context.catalog }
    var settings: MountSettings { context.settings }
    var expiry: Expiry { context.expiry }

    // MARK: Names and attributes

    func lookup(_ name: String, in parent: Node) async throws -> Entry {
        guard let folder = try await catalogFolderForLookup(parent) else { throw FUSEError.notDirectory }
        if let sidecar = SidecarName(name) { return try await lookup(sidecar, in: folder) }
        if let child = try await expiry.entry(in: folder, named: name) {
            let (attributes, timeout) = await currentAttributes(of: child)
            return context.entry(attributes, timeout: timeout)
        }
        // On one host a name here appears only through this mount (create, mkdir, rename),
        // which the kernel sees: "no such name" can be cached for long (.hidden, .directory,
        // ...). In a fleet another host makes names: only as long as any other answer.
        return .negative(timeout: catalog.isShared ? settings.cacheTimeout : settings.fixedNegativeTimeout)
    }

    func attributes(of node: Node) async throws -> (FileAttributes, timeout: Double) {
        switch node {
        case .typeFolder(let type):
            return (try await typeFolderAttributes(type), settings.cacheTimeout)
        case .entry(let id):
            guard let entry = try await expiry.entry(id: id) else { throw FUSEError.notFound }
            return await currentAttributes(of: entry)
        case .sidecar(let id):
            return try await sidecarAttributes(ownerID: id)
        default:
            throw FUSEError.notFound
        }
    }

    /// Listing offsets: 1 and 2 are "." and ".."; a catalog entry `id` is at `2*id + 10` and its
    /// sidecar right after it, so offsets stay valid while entries come and go.
    func listing(of node: Node, past offset: Int64) async throws -> [DirectoryEntry] {
        guard let folder = try await catalogFolder(node) else { throw FUSEError.notDirectory }
        // Resume with the first entry whose name or sidecar lies past `offset`.
        var afterID = offset >= 11 ? (offset - 11) / 2 : 0
        // A page whose entries are all hidden (expired, not swept yet) is not the end of the
        // folder, which an empty answer would say: the next page is read until a name shows.
        let now = context.clock.seconds
        let pageSize = max(1, settings.listingPageSize)
        var names: [DirectoryEntry] = []
        while names.isEmpty {
            let children = try await catalog.children(of: folder, afterID: afterID, limit: pageSize)
            for child in children where expiry.isAlive(child, now: now) {
                list(child, past: offset, into: &names)
            }
            guard children.count == pageSize, let last = children.last?.id, last > afterID else { break }
            afterID = last
        }
        return names
    }

    /// Adds `child`'s name and its sidecar to `names`, those that lie past `offset`.
    private func list(_ child: CatalogEntry, past offset: Int64, into names: inout [DirectoryEntry]) {
        // Ids past `Node.entryIDs` (only a corrupt catalog has them) have no inode and no offset.
        guard let id = child.id, Node.entryIDs.contains(id) else { return }
        let nameOffset: Int64 = 2 * id + 10
        if nameOffset > offset {
            names.append(
                DirectoryEntry(
                    name: child.name, attributes: attributes(of: child), offset: nameOffset,
                    cacheTimeout: expiry.boundedTimeout(bornAt: child.createdAt)))
        }
        if nameOffset + 1 > offset, let sidecar = listedSidecar(of: child) {
            names.append(
                DirectoryEntry(
                    name: sidecar.name, attributes: sidecar.attributes, offset: nameOffset + 1, cacheTimeout: 0))
        }
    }

    // MARK: Helpers shared by the operations

    /// The catalog folder a node is (a type folder or a subfolder in one), or nil if it is not one.
    func catalogFolder(_ node: Node) async throws -> CatalogFolder? {
        switch node {
        case .typeFolder(let type): return .top(type)
        case .entry(let id):
            guard let entry = try await expiry.entry(id: id) else {
                folderTypes.forget(id)
                throw FUSEError.notFound
            }
            if let folder = entry.asFolder { folderTypes.remember(folder) }
            return entry.asFolder
        default: return nil
        }
    }

    /// `catalogFolder` for a lookup, which may trust a subfolder's known type: a name looked up
    /// in a folder removed meanwhile is simply not found.
    func catalogFolderForLookup(_ node: Node) async throws -> CatalogFolder? {
        if case .entry(let id) = node, let known = folderTypes.folder(id) { return known }
        return try await catalogFolder(node)
    }

    /// An upload folder's attributes, with the times of the last name created, removed or
    /// renamed in it (on any host of a fleet).
    func typeFolderAttributes(_ type: MediaType) async throws -> FileAttributes {
        var attributes = context.fixedFolderAttributes(.typeFolder(type), permissions: 0o755)
        if let times = try await catalog.topFolderTimes(type) {
            attributes.modificationTime = timespec(nanoseconds: times.modification)
            attributes.changeTime = timespec(nanoseconds: times.change)
        }
        return attributes
    }

    /// An entry's attributes as a caller should see them now. While it is open for writing, the
    /// size is the spool's (the catalog knows only the last upload's: a truncate or a write must
    /// show at once), and nothing is cached by the kernel, since the next close changes it.
    func currentAttributes(of entry: CatalogEntry) async -> (FileAttributes, timeout: Double) {
        var attributes = attributes(of: entry)
        if let id = entry.id, let writer = context.openFiles.writeHandles(of: Node.entryInode(id)).first {
            if let size = writer.spoolSize() { attributes.size = UInt64(size) }
            return (attributes, 0)
        }
        if entry.state == .writing { return (attributes, 0) }
        return (attributes, expiry.boundedTimeout(bornAt: entry.createdAt))
    }

    func attributes(of entry: CatalogEntry) -> FileAttributes {
        FileAttributes(
            inode: Node.entryInode(entry.id ?? 0), kind: entry.isDirectory ? .directory : .file,
            permissions: entry.mode, links: entry.isDirectory ? 2 : 1, uid: entry.uid, gid: entry.gid,
            size: entry.isDirectory ? 4096 : UInt64(max(0, queuedSize(of: entry) ?? entry.size)),
            accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.modificationTime),
            changeTime: .init(nanoseconds: entry.changeTime))
    }
}
