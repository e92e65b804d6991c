import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// `/material/`: the account's permanent material library, one folder per type, and the
/// article images. What is copied in is added to the library on `close()` (`MaterialUploads`);
/// each file shows its id in a `NAME.media_id` sidecar (an article image its URL in `NAME.url`);
/// the names are the catalog's, kept in step with the server's listing (`MaterialListingSync`),
/// so what the console or another tool added is listed too; nothing expires; deleting from the
/// library takes `--allow-delete`.
struct MaterialTree: MediaTree, DerivedAttributes {
    let context: MountContext
    let service: any MaterialService
    let catalog: any MaterialCatalog
    let caps: MaterialCaps
    let sync: MaterialListingSync
    let uploads: MaterialUploads
    /// Files closed in `background` mode (and any an earlier run left queued), until added.
    let queue: UploadQueue
    /// Where a closed file's bytes go: added at once (sync) or into `queue` (background).
    let route: MaterialRoute

    /// The size of a material the listing showed and nobody read yet: the API tells none.
    static let unknownSize: Int64 = -1

    init(context: MountContext, service: any MaterialService, catalog: any MaterialCatalog) {
        self.context = context
        self.service = service
        self.catalog = catalog
        let caps = MaterialCaps()
        self.caps = caps
        self.sync = MaterialListingSync(catalog: catalog, service: service, caps: caps, context: context)
        let uploads = MaterialUploads(catalog: catalog, service: service, caps: caps, context: context)
        self.uploads = uploads
        let queue = UploadQueue(
            concurrency: context.settings.uploadConcurrency, retryDelay: context.settings.queuedUploadRetryDelay,
            cache: context.cache, uploads: uploads, logger: context.logger)
        self.queue = queue
        self.route = MaterialRoute(uploads: uploads, queue: context.settings.uploadMode == .background ? queue : nil)
    }

    var topFolders: [(name: String, node: Node)] { [("material", .materialRoot)] }

    func owns(_ node: Node) -> Bool {
        switch node {
        case .materialRoot, .materialFolder, .material, .materialSidecar: true
        default: false
        }
    }

    // MARK: Names

    /// The sidecar that tells a file's id (`.media_id`), or an article image's URL (`.url`).
    static func sidecarSuffix(in folder: MaterialFolder) -> String {
        folder == .articleImages ? ".url" : SidecarName.suffix
    }

    static func sidecar(of name: String, in folder: MaterialFolder) -> String {
        name + sidecarSuffix(in: folder)
    }

    /// The file a sidecar name belongs to, if `name` is one.
    static func owner(ofSidecar name: String, in folder: MaterialFolder) -> String? {
        let suffix = sidecarSuffix(in: folder)
        guard name.hasSuffix(suffix), name.utf8.count > suffix.utf8.count else { return nil }
        return String(name.dropLast(suffix.count))
    }

    static func displayPath(of entry: MaterialEntry) -> String {
        "material/\(entry.folder.rawValue)/\(entry.name)"
    }

    /// Its bytes' key in the content cache: the media id, or for an article image its hash.
    static func contentKey(of entry: MaterialEntry) -> String? {
        entry.mediaID ?? entry.contentHash.map { "articleimage-" + $0 }
    }

    /// What the sidecar holds: the id (or URL) and a newline; nil while there is none.
    static func sidecarContent(of entry: MaterialEntry) -> [UInt8]? {
        guard entry.state == .uploaded, let value = entry.folder == .articleImages ? entry.url : entry.mediaID else {
            return nil
        }
        return Array((value + "\n").utf8)
    }

    // MARK: Lookup and attributes

    func lookup(_ name: String, in parent: Node) async throws -> Entry {
        switch parent {
        case .materialRoot:
            guard let folder = MaterialFolder(rawValue: name) else {
                return .negative(timeout: context.settings.fixedNegativeTimeout)
            }
            return context.entry(folderAttributes(folder))
        case .materialFolder(let folder):
            guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
            if let owner = Self.owner(ofSidecar: name, in: folder) {
                guard let owned = try await find(owner, in: folder), let entry = try await uploadedEntry(owned),
                    let content = Self.sidecarContent(of: entry)
                else { return context.negative }
                return context.entry(sidecarAttributes(of: entry, content: content))
            }
            guard let entry = try await find(name, in: folder) else { return context.negative }
            let (attributes, timeout) = currentAttributes(of: entry)
            return context.entry(attributes, timeout: timeout)
        default:
            throw FUSEError.notDirectory
        }
    }

    /// The entry named `name`. A name the catalog lacks is looked for in the server's listing
    /// the first time only (a material made elsewhere, read by name on a fresh mount); later
    /// listings of the folder bring such names in.
    func find(_ name: String, in folder: MaterialFolder) async throws -> MaterialEntry? {
        if let entry = try await catalog.materialEntry(in: folder, named: name) { return entry }
        guard await sync.refreshIfNeverApplied(folder) else { return nil }
        return try await catalog.materialEntry(in: folder, named: name)
    }

    func attributes(of node: Node) async throws -> (FileAttributes, timeout: Double) {
        switch node {
        case .materialRoot:
            return (context.fixedFolderAttributes(.materialRoot, permissions: 0o555), context.settings.cacheTimeout)
        case .materialFolder(let folder):
            return (folderAttributes(folder), context.settings.cacheTimeout)
        case .material(let id):
            guard let entry = try await catalog.materialEntry(id: id) else { throw FUSEError.notFound }
            return currentAttributes(of: entry)
        case .materialSidecar(let id):
            guard let owner = try await catalog.materialEntry(id: id), let entry = try await uploadedEntry(owner),
                let content = Self.sidecarContent(of: entry)
            else { throw FUSEError.notFound }
            return (sidecarAttributes(of: entry, content: content), context.settings.cacheTimeout)
        default:
            throw FUSEError.notFound
        }
    }

    func folderAttributes(_ folder: MaterialFolder) -> FileAttributes {
        context.fixedFolderAttributes(.materialFolder(folder), permissions: 0o755)
    }

    /// An entry's attributes now: while it is written, the spool's size, uncached; a size the
    /// server never told, the cached bytes' if read once, else 0 (such a file is read to its end,
    /// whatever its size says: `directIO`).
    func currentAttributes(of entry: MaterialEntry) -> (FileAttributes, timeout: Double) {
        var attributes = attributes(of: entry)
        let id = entry.id ?? 0
        if let writer = context.openFiles.writeHandles(of: Node.material(id).inode).first {
            if let size = writer.spoolSize() { attributes.size = UInt64(size) }
            return (attributes, 0)
        }
        if entry.state == .writing { return (attributes, 0) }
        return (attributes, context.settings.cacheTimeout)
    }

    func attributes(of entry: MaterialEntry) -> FileAttributes {
        FileAttributes(
            inode: Node.material(entry.id ?? 0).inode, kind: .file, permissions: entry.mode, uid: entry.uid,
            gid: entry.gid, size: UInt64(max(0, knownSize(of: entry) ?? 0)),
            accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.modificationTime),
            changeTime: .init(nanoseconds: entry.changeTime))
    }

    /// The entry's size (its queued bytes' while they wait), or its cached bytes' when the
    /// server never told it; nil if unknown.
    func knownSize(of entry: MaterialEntry) -> Int64? {
        if let queued = queuedSize(of: entry.id ?? 0) { return queued }
        if entry.size >= 0 { return entry.size }
        guard let key = Self.contentKey(of: entry), context.cache.hasContent(for: key) else { return nil }
        var info = stat()
        guard stat(context.cache.contentPath(for: key), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    func sidecarAttributes(of entry: MaterialEntry, content: [UInt8]) -> FileAttributes {
        FileAttributes(
            inode: Node.materialSidecar(entry.id ?? 0).inode, kind: .file, permissions: 0o444, uid: entry.uid,
            gid: entry.gid, size: UInt64(content.count), accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.changeTime), changeTime: .init(nanoseconds: entry.changeTime))
    }

    // MARK: Listings

    /// Offsets: the root's five folders at 3...7; in a folder, entry `id` at `2*id + 10` and its
    /// sidecar right after it, stable while names come and go. A listing from its start brings
    /// the folder up to the server's listing first (a crawl at most once per TTL); should the
    /// crawl fail, what the catalog holds is listed and the failure is in the log and `status`.
    func listing(of node: Node, past offset: Int64) async throws -> [DirectoryEntry] {
        switch node {
        case .materialRoot:
            return MaterialFolder.allCases.enumerated().compactMap { index, folder in
                let position = Int64(index + 3)
                guard position > offset else { return nil }
                return DirectoryEntry(name: folder.rawValue, attributes: folderAttributes(folder), offset: position)
            }
        case .materialFolder(let folder):
            if offset <= 2 { try? await sync.refresh(folder) }
            var afterID = offset >= 11 ? (offset - 11) / 2 : 0
            var names: [DirectoryEntry] = []
            let pageSize = max(1, context.settings.listingPageSize)
            while names.isEmpty {
                let entries = try await catalog.materialEntries(in: folder, afterID: afterID, limit: pageSize)
                for entry in entries { list(entry, past: offset, into: &names) }
                guard entries.count == pageSize, let last = entries.last?.id, last > afterID else { break }
                afterID = last
            }
            return names
        default:
            throw FUSEError.notDirectory
        }
    }

    private func list(_ entry: MaterialEntry, past offset: Int64, into names: inout [DirectoryEntry]) {
        guard let id = entry.id, Node.entryIDs.contains(id) else { return }
        let position = 2 * id + 10
        if position > offset {
            let (attributes, timeout) = currentAttributes(of: entry)
            names.append(
                DirectoryEntry(name: entry.name, attributes: attributes, offset: position, cacheTimeout: timeout))
        }
        // Listing never waits: a queued file's sidecar appears once its add succeeded.
        if position + 1 > offset, queue.item(id) == nil, let content = Self.sidecarContent(of: entry) {
            names.append(
                DirectoryEntry(
                    name: Self.sidecar(of: entry.name, in: entry.folder),
                    attributes: sidecarAttributes(of: entry, content: content), offset: position + 1,
                    cacheTimeout: context.settings.cacheTimeout))
        }
    }
}
