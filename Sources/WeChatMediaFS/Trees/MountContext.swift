import FUSEKit
import LocalByteStore
import Logging
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// What every tree of one mount shares: where names and bytes are kept, the server, the time,
/// the open handles, and where failures and transfers are told. Trees hold it by value; the
/// parts that change are objects of their own.
struct MountContext: Sendable {
    let catalog: any Catalog
    let cache: ContentCache
    let service: any MediaService
    /// The permanent material library, when the mount has `/material/`.
    let material: (any MaterialService)?
    let settings: MountSettings
    let clock: any MountClock
    let logger: Logger
    let expiry: Expiry
    let openFiles: OpenFiles
    let downloads: DownloadCoordinator
    let budget: CacheBudget
    let reporter: FailureReporter
    let activity: MountActivity
    /// Where to tell the kernel that a cached name changed (connected when mounted).
    let kernelCache: KernelCache
    let mountedAt: timespec

    init(
        catalog: any Catalog, cache: ContentCache, service: any MediaService, material: (any MaterialService)?,
        settings: MountSettings, clock: any MountClock, logger: Logger
    ) {
        self.catalog = catalog
        self.cache = cache
        self.service = service
        self.material = material
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.expiry = Expiry(
            catalog: catalog, clock: clock, lifetimeSeconds: settings.mediaLifetimeSeconds,
            cacheTimeout: settings.cacheTimeout)
        self.openFiles = OpenFiles()
        self.activity = MountActivity()
        self.kernelCache = KernelCache()
        self.mountedAt = timespec(nanoseconds: clock.now())
        let reporter = FailureReporter(logger: logger, activity: activity)
        self.reporter = reporter
        self.budget = CacheBudget(
            cache: cache, maxBytes: settings.cacheMaxBytes, minimumFreeBytes: settings.minimumFreeBytes,
            reporter: reporter)
        self.downloads = DownloadCoordinator(
            service: service, material: material, cache: cache, budget: budget, activity: activity, reporter: reporter,
            logger: logger)
    }

    func entry(_ attributes: FileAttributes, timeout: Double? = nil) -> Entry {
        let timeout = timeout ?? settings.cacheTimeout
        return Entry(attributes: attributes, attributeTimeout: timeout, entryTimeout: timeout)
    }

    /// The answer to a create. The name is not cached: its size and bytes change when the new
    /// handle's close uploads them. A file created exclusively (O_EXCL) is that handle's alone,
    /// and the kernel keeps its size as it writes: `cp`'s fstat of the new descriptor is answered
    /// without asking. Any other open of the name first looks it up, and that answer (timeout 0)
    /// replaces the kernel's copy.
    func createdEntry(_ attributes: FileAttributes, flags: Int32) -> Entry {
        Entry(
            attributes: attributes, attributeTimeout: flags & O_EXCL != 0 ? settings.cacheTimeout : 0, entryTimeout: 0)
    }

    /// "No such name", cached as long as any other answer.
    var negative: Entry { .negative(timeout: settings.cacheTimeout) }

    /// A folder made by the mount itself (the root, the folders each tree puts in it).
    func fixedFolderAttributes(_ node: Node, permissions: UInt32) -> FileAttributes {
        FileAttributes(
            inode: node.inode, kind: .directory, permissions: permissions, links: 2, uid: settings.uid,
            gid: settings.gid, size: 4096, accessTime: mountedAt, modificationTime: mountedAt, changeTime: mountedAt)
    }

    /// The cached bytes of `mediaID`, opened and pinned against eviction until released.
    func openCached(_ mediaID: String) async throws -> OpenFile {
        await budget.pin(mediaID)
        let descriptor = Glibc.open(cache.contentPath(for: mediaID), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            await budget.unpin(mediaID)
            throw FUSEError(code)
        }
        return .cached(CachedContentHandle(mediaID: mediaID, descriptor: descriptor))
    }

    /// A new spool file, empty or a copy of `source`; a disk that is full or refuses answers
    /// with its errno (ENOSPC, EROFS).
    func newSpoolFile(copyingFrom source: Int32? = nil) throws -> SpoolFile {
        do {
            let (path, descriptor) = try cache.openSpoolFile(copyingFrom: source)
            return SpoolFile(path: path, descriptor: descriptor)
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
    }

    /// The whole bytes of `key` (downloaded from `source` if not cached), open for reading: what
    /// rewriting part of an uploaded file starts from. The caller closes the descriptor.
    func openWholeContent(_ key: String, from source: DownloadCoordinator.Source, expectedSize: Int64?) async throws
        -> Int32
    {
        let path = try await downloads.path(
            forBytesOf: key, upTo: .max, from: source, expectedSize: expectedSize, openedAt: .now)
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FUSEError.io }
        return descriptor
    }

    /// The server answered 40007 for media the catalog believed alive: the server wins.
    func serverForgot(_ mediaID: String) async {
        logger.notice("the server no longer has \(mediaID) (errcode 40007): hiding it")
        let entries = (try? await catalog.forgetMediaEverywhere(mediaID)) ?? []
        await budget.remove(mediaID)
        // Not awaited: this runs inside a read, and the kernel may hold the folder's lock.
        for entry in entries { kernelCache.postInvalidateEntry(parent: Node.inode(of: entry.folder), name: entry.name) }
        kernelCache.postInvalidateEntry(parent: Node.byIDFolderInode, name: mediaID)
    }
}
