import FUSEKit
import Foundation
import Logging
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// WeChat temporary media as a tree: `/image /voice /video /thumb` to upload into, `NAME.media_id`
/// sidecars, and `/by-id/`. It knows nothing of libfuse (FUSEKit calls it with inode numbers),
/// and reaches storage, WeChat and the time only through what it is given: a `Catalog`, a
/// `MediaService` and a `MountClock`, so tests call it directly, without root or a mount.
public final class MediaFileSystem: FileSystem {
    let catalog: any Catalog
    let cache: ContentCache
    let service: any MediaService
    let settings: MountSettings
    let clock: any MountClock
    let logger: Logger
    let openFiles = OpenFiles()
    let downloads: DownloadCoordinator
    let budget: CacheBudget
    let uploader: Uploader
    /// Files closed in `background` mode (and any an earlier run left queued), until uploaded.
    let uploadQueue: UploadQueue
    /// Where a closed file's bytes go: `uploader` (sync) or `uploadQueue` (background).
    let uploads: UploadRoute
    let reporter: FailureReporter
    /// Transfers in flight and recent failures, for `wxmediafs status`.
    public let activity = MountActivity()
    let byIDInodes = ByIDInodes()
    let folderTypes = FolderTypes()
    /// Sidecar names written lately under `--sidecars off`.
    let discardedSidecars = DiscardedSidecars()
    let mountedAt: timespec
    /// Where to tell the kernel that a cached name changed (connected when mounted).
    public let kernelCache = KernelCache()

    public init(
        catalog: any Catalog, cache: ContentCache, service: any MediaService, settings: MountSettings,
        clock: any MountClock = SystemClock(), logger: Logger
    ) {
        self.catalog = catalog
        self.cache = cache
        self.service = service
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.mountedAt = timespec(nanoseconds: clock.now())
        let reporter = FailureReporter(logger: logger, activity: activity)
        self.reporter = reporter
        self.budget = CacheBudget(
            cache: cache, maxBytes: settings.cacheMaxBytes, minimumFreeBytes: settings.minimumFreeBytes,
            reporter: reporter)
        self.downloads = DownloadCoordinator(
            service: service, cache: cache, budget: budget, activity: activity, reporter: reporter, logger: logger)
        let uploader = Uploader(
            catalog: catalog, cache: cache, service: service, budget: budget, activity: activity, reporter: reporter,
            clock: clock, kernelCache: kernelCache, logger: logger)
        self.uploader = uploader
        let queue = UploadQueue(
            concurrency: settings.uploadConcurrency, catalog: catalog, cache: cache, uploader: uploader)
        self.uploadQueue = queue
        self.uploads = UploadRoute(uploader: uploader, queue: settings.uploadMode == .background ? queue : nil)
    }

    /// Clears what a process that died left behind: entries never closed, spool files, partial
    /// downloads; then brings the cache within its budget, and resumes the uploads it left
    /// queued (closed files are not unfinished: none is lost, in either upload mode).
    public func recover() async throws {
        let stale = try await catalog.removeUnfinishedWrites()
        cache.removeStaleSpoolFiles()
        cache.removePartialDownloads()
        await budget.markIrreplaceable(try await catalog.knownMediaIDs(of: .video))
        await budget.evictIfNeeded()
        if !stale.isEmpty { logger.notice("removed \(stale.count) file(s) left unfinished by an earlier run") }
        let resumed = try await uploadQueue.resume()
        if resumed > 0 { logger.notice("resumed \(resumed) queued upload(s) left by an earlier run") }
    }

    /// Waits for uploads in flight, for a clean shutdown, until `deadline` at the latest.
    public func waitForUploads(until deadline: ContinuousClock.Instant) async -> Bool {
        await uploader.waitUntilIdle(until: deadline)
    }

    /// Ends the filesystem's work once the FUSE loop has ended: queued uploads may finish until
    /// `drainEnd`; then no more start, and those still running are cancelled and awaited until
    /// `deadline`. Returns how many queued uploads are left: their files stay queued on disk,
    /// and the next mount on this cache dir resumes them.
    public func shutdown(drainingUntil drainEnd: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async
        -> Int
    {
        let left = await uploadQueue.waitUntilSettled(timeout: max(.zero, ContinuousClock.now.duration(to: drainEnd)))
        if await !uploadQueue.stop(until: deadline) {
            logger.warning("queued uploads still running at the shutdown's deadline: their files stay queued")
        }
        return left
    }

    /// What `wxmediafs sync` answers: waits until every queued upload has ended, then tells the
    /// failures.
    public func syncQueuedUploads() async -> UploadQueueStatus {
        await uploadQueue.waitUntilSettled(timeout: nil)
        return uploadQueue.snapshot()
    }

    // MARK: Lookup and attributes

    public func lookup(parent: Inode, name: String) async throws -> Entry {
        guard let node = Node(parent) else { throw FUSEError.notFound }
        switch node {
        case .root:
            if name == "by-id" { return entry(directoryAttributes(.byIDFolder)) }
            if let type = MediaType(rawValue: name) { return entry(try await typeFolderAttributes(type)) }
            // The root's children never change: desktop probes (.Trash, .xdg-volume-info,
            // autorun.inf, .hidden) are answered once.
            return .negative(timeout: settings.fixedNegativeTimeout)
        case .byIDFolder:
            return try await lookupByID(name)
        case .typeFolder, .entry:
            guard let folder = try await catalogFolderForLookup(parent) else { throw FUSEError.notDirectory }
            // No entry has a sidecar's name (creating one is refused): a sidecar's lookup asks
            // only for its file, which a listing just read (in a fleet, a round trip saved per name).
            if !name.hasSuffix(sidecarSuffix), let child = try await liveEntry(in: folder, named: name) {
                let (attributes, timeout) = await currentAttributes(of: child)
                return entry(attributes, timeout: timeout)
            }
            if name.hasSuffix(sidecarSuffix), settings.sidecars == .off {
                guard discardedSidecars.contains(name, in: folder) else { return .negative(timeout: 0) }
                let owner = try await owner(ofSidecarNamed: name, in: folder)
                return Entry(
                    attributes: try await discardedSidecarAttributes(owner?.id ?? 0), attributeTimeout: 0,
                    entryTimeout: 0)
            }
            if name.hasSuffix(sidecarSuffix) {
                // Sidecars come and go with uploads, renames and deletes of their file: never cached.
                let base = String(name.dropLast(sidecarSuffix.count))
                if let owner = try await liveEntry(in: folder, named: base),
                    let uploaded = try await uploadedOwner(owner)
                {
                    return Entry(attributes: sidecarAttributes(of: uploaded), attributeTimeout: 0, entryTimeout: 0)
                }
                return .negative(timeout: 0)
            }
            // On one host a name here appears only through this mount (create, mkdir, rename),
            // which the kernel sees: "no such name" can be cached for long (.hidden, .directory,
            // ...). In a fleet another host makes names: only as long as any other answer.
            return .negative(timeout: catalog.isShared ? settings.cacheTimeout : settings.fixedNegativeTimeout)
        case .sidecar, .byID:
            throw FUSEError.notDirectory
        }
    }

    public func getattr(inode: Inode) async throws -> (FileAttributes, timeout: Double) {
        guard let node = Node(inode) else { throw FUSEError.notFound }
        switch node {
        case .root, .byIDFolder:
            return (directoryAttributes(node), settings.cacheTimeout)
        case .typeFolder(let type):
            return (try await typeFolderAttributes(type), settings.cacheTimeout)
        case .entry(let id):
            guard let entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            return await currentAttributes(of: entry)
        case .sidecar(let id):
            if settings.sidecars == .off { return (try await discardedSidecarAttributes(id), 0) }
            guard let owner = try await liveEntry(id: id), let entry = try await uploadedOwner(owner) else {
                throw FUSEError.notFound
            }
            return (sidecarAttributes(of: entry), 0)
        case .byID(let number):
            guard let mediaID = byIDInodes.mediaID(for: number),
                let media = try await liveKnownMedia(mediaID)
            else { throw FUSEError.notFound }
            return (await byIDAttributes(of: media), expiryBoundedTimeout(bornAt: media.bornAt))
        }
    }

    public func statfs(inode: Inode) async throws -> FilesystemStatistics {
        // Uploads go to the server, so local space does not bound them: report plenty.
        FilesystemStatistics(
            blockSize: 4096, totalBlocks: 1 << 32, freeBlocks: 1 << 31, totalFiles: 1 << 32, freeFiles: 1 << 31,
            maxNameLength: 255)
    }

    // MARK: Listings

    /// Listing offsets: 1 and 2 are "." and ".."; a catalog entry `id` is at `2*id + 10` and its
    /// sidecar right after it, so offsets stay valid while entries come and go. A page is 64 rows:
    /// about what one kernel buffer of entries with attributes holds.
    public func readdir(inode: Inode, handle: UInt64, offset: Int64) async throws -> [DirectoryEntry] {
        guard let node = Node(inode) else { throw FUSEError.notFound }
        var result: [DirectoryEntry] = []
        let own = node == .root || node == .byIDFolder ? directoryAttributes(node) : try await getattr(inode: inode).0
        if offset < 1 { result.append(DirectoryEntry(name: ".", attributes: own, offset: 1)) }
        if offset < 2 { result.append(DirectoryEntry(name: "..", attributes: directoryAttributes(.root), offset: 2)) }
        switch node {
        case .root:
            let children: [Node] = MediaType.allCases.map(Node.typeFolder) + [.byIDFolder]
            for (index, child) in children.enumerated() where Int64(index + 3) > offset {
                if case .typeFolder(let type) = child {
                    result.append(
                        DirectoryEntry(
                            name: type.rawValue, attributes: try await typeFolderAttributes(type),
                            offset: Int64(index + 3)))
                } else {
                    result.append(
                        DirectoryEntry(name: "by-id", attributes: directoryAttributes(child), offset: Int64(index + 3)))
                }
            }
        case .byIDFolder:
            result += try await byIDListing(after: offset)
        case .typeFolder, .entry:
            guard let folder = try await catalogFolder(inode) else { throw FUSEError.notDirectory }
            // Resume with the first entry whose name or sidecar lies past `offset`.
            let afterID = offset >= 11 ? (offset - 11) / 2 : 0
            result += try await listing(of: folder, afterID: afterID, past: offset)
        case .sidecar, .byID:
            throw FUSEError.notDirectory
        }
        return result
    }

    /// The names (and sidecars) of `folder` past `offset`, from the catalog page after entry
    /// `afterID`. A page whose entries are all hidden (expired, not swept yet) is not the end of
    /// the folder, which an empty answer would say: the next page is read until a name shows.
    private func listing(of folder: CatalogFolder, afterID start: Int64, past offset: Int64) async throws
        -> [DirectoryEntry]
    {
        let now = clock.seconds
        let pageSize = max(1, settings.listingPageSize)
        var afterID = start
        var names: [DirectoryEntry] = []
        while names.isEmpty {
            let children = try await catalog.children(of: folder, afterID: afterID, limit: pageSize)
            for child in children where isAlive(child, now: now) {
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
                    cacheTimeout: expiryBoundedTimeout(bornAt: child.createdAt)))
        }
        // Listing never waits: a queued file's sidecar appears once its upload succeeded.
        if settings.sidecars == .visible, child.state == .uploaded, nameOffset + 1 > offset,
            uploadQueue.item(id) == nil
        {
            names.append(
                DirectoryEntry(
                    name: child.name + sidecarSuffix, attributes: sidecarAttributes(of: child),
                    offset: nameOffset + 1, cacheTimeout: 0))
        }
    }

    // MARK: Helpers shared by the operations

    var negative: Entry { .negative(timeout: settings.cacheTimeout) }

    func entry(_ attributes: FileAttributes, timeout: Double? = nil) -> Entry {
        let timeout = timeout ?? settings.cacheTimeout
        return Entry(attributes: attributes, attributeTimeout: timeout, entryTimeout: timeout)
    }

    /// The instant media born at `bornAt` expire. Saturating: a time an older version stored
    /// unchecked cannot trap here.
    func expiry(bornAt: Int64) -> Int64 { bornAt.saturatingAdd(settings.mediaLifetimeSeconds) }

    /// How long the kernel may cache a name whose media were born at `bornAt`: never past expiry,
    /// so an expired file is gone from every path at once, not a cache timeout later.
    func expiryBoundedTimeout(bornAt: Int64?) -> Double {
        guard let bornAt else { return settings.cacheTimeout }
        let remaining = Double(expiry(bornAt: bornAt)) - Double(clock.now()) / 1e9
        return max(0, min(settings.cacheTimeout, remaining))
    }

    /// Whether media born at `bornAt` are still visible: born at a time a server could state,
    /// and `bornAt + TTL > now`.
    func isAlive(bornAt: Int64, now: Int64) -> Bool {
        ServerTime.isPlausible(bornAt) && expiry(bornAt: bornAt) > now
    }

    /// Whether an entry is still visible: never uploaded, or its media not expired.
    func isAlive(_ entry: CatalogEntry, now: Int64) -> Bool {
        guard let created = entry.createdAt else { return true }
        return isAlive(bornAt: created, now: now)
    }

    func liveEntry(id: Int64) async throws -> CatalogEntry? {
        guard let entry = try await catalog.entry(id: id), isAlive(entry, now: clock.seconds) else { return nil }
        return entry
    }

    func liveEntry(in folder: CatalogFolder, named name: String) async throws -> CatalogEntry? {
        guard let entry = try await catalog.entry(in: folder, named: name), isAlive(entry, now: clock.seconds) else {
            return nil
        }
        return entry
    }

    func liveKnownMedia(_ mediaID: String) async throws -> KnownMedia? {
        guard let media = try await catalog.knownMedia(mediaID), isAlive(bornAt: media.bornAt, now: clock.seconds)
        else { return nil }
        return media
    }

    /// The catalog folder an inode is (a type folder or a subfolder in one), or nil if it is not one.
    func catalogFolder(_ inode: Inode) async throws -> CatalogFolder? {
        switch Node(inode) {
        case .typeFolder(let type): return .top(type)
        case .entry(let id):
            guard let entry = try await liveEntry(id: id) else {
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
    func catalogFolderForLookup(_ inode: Inode) async throws -> CatalogFolder? {
        if case .entry(let id) = Node(inode), let known = folderTypes.folder(id) { return known }
        return try await catalogFolder(inode)
    }

    func directoryAttributes(_ node: Node) -> FileAttributes {
        FileAttributes(
            inode: node.inode, kind: .directory, permissions: node == .root || node == .byIDFolder ? 0o555 : 0o755,
            links: 2, uid: settings.uid, gid: settings.gid, size: 4096, accessTime: mountedAt,
            modificationTime: mountedAt, changeTime: mountedAt)
    }

    /// An upload folder's attributes, with the times of the last name created, removed or
    /// renamed in it (on any host of a fleet).
    func typeFolderAttributes(_ type: MediaType) async throws -> FileAttributes {
        var attributes = directoryAttributes(.typeFolder(type))
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
        if let id = entry.id, let writer = openFiles.writeHandles(of: id).first {
            if let size = await writer.spoolSize() { attributes.size = UInt64(size) }
            return (attributes, 0)
        }
        if entry.state == .writing { return (attributes, 0) }
        return (attributes, expiryBoundedTimeout(bornAt: entry.createdAt))
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

    /// The size of what is queued for a file: its bytes as last closed, before the server has them.
    func queuedSize(of entry: CatalogEntry) -> Int64? {
        guard !entry.isDirectory, let id = entry.id else { return nil }
        return uploadQueue.item(id)?.size
    }

    func sidecarAttributes(of entry: CatalogEntry) -> FileAttributes {
        FileAttributes(
            inode: Node.sidecar(entry.id ?? 0).inode, kind: .file, permissions: 0o444, uid: entry.uid, gid: entry.gid,
            size: UInt64((entry.mediaID?.utf8.count ?? 0) + 1), accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.changeTime), changeTime: .init(nanoseconds: entry.changeTime))
    }

    func sidecarContent(of entry: CatalogEntry) -> [UInt8] {
        Array(((entry.mediaID ?? "") + "\n").utf8)
    }
}
