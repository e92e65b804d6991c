import FUSEKit
import Foundation
import Logging
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// WeChat temporary media as a tree: `/image /voice /video /thumb` to upload into, `NAME.media_id`
/// sidecars, and `/by-id/`. It knows nothing of libfuse: FUSEKit calls it with inode numbers.
public final class MediaFileSystem: FileSystem {
    let catalog: MediaCatalogDatabase
    let cache: ContentCache
    let client: WeChatMediaClient
    let settings: MountSettings
    let logger: Logger
    let openFiles = OpenFiles()
    let downloads: DownloadCoordinator
    let budget: CacheBudget
    /// Transfers in flight and recent failures, for `wxmediafs status`.
    public let activity = MountActivity()
    let byIDInodes = ByIDInodes()
    let mountedAt = timespec.now
    /// Where to tell the kernel that a cached name changed (connected when mounted).
    public let kernelCache = KernelCache()

    public init(
        catalog: MediaCatalogDatabase, cache: ContentCache, client: WeChatMediaClient, settings: MountSettings,
        logger: Logger
    ) {
        self.catalog = catalog
        self.cache = cache
        self.client = client
        self.settings = settings
        self.logger = logger
        self.budget = CacheBudget(
            cache: cache, maxBytes: settings.cacheMaxBytes, minimumFreeBytes: settings.minimumFreeBytes)
        self.downloads = DownloadCoordinator(
            client: client, cache: cache, budget: budget, activity: activity, logger: logger)
    }

    /// Clears what a process that died left behind: entries never closed, spool files, partial
    /// downloads; then brings the cache within its budget.
    public func recover() async throws {
        let stale = try await catalog.removeUnfinishedWrites()
        cache.removeStaleSpoolFiles()
        cache.removePartialDownloads()
        await budget.evictIfNeeded()
        if !stale.isEmpty { logger.notice("removed \(stale.count) file(s) left unfinished by an earlier run") }
    }

    /// Waits (at most `timeout`) for uploads in flight, for a clean shutdown.
    public func waitForUploads(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.openFiles.waitUntilNoUploads()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    // MARK: Lookup and attributes

    public func lookup(parent: Inode, name: String) async throws -> Entry {
        guard let node = Node(parent) else { throw FUSEError.notFound }
        switch node {
        case .root:
            if name == "by-id" { return entry(directoryAttributes(.byIDFolder)) }
            if let type = MediaType(rawValue: name) { return entry(directoryAttributes(.typeFolder(type))) }
            // The root's children never change: desktop probes (.Trash, .xdg-volume-info,
            // autorun.inf, .hidden) are answered once.
            return .negative(timeout: settings.fixedNegativeTimeout)
        case .byIDFolder:
            return try await lookupByID(name)
        case .typeFolder, .entry:
            guard try await folder(parent) != nil else { throw FUSEError.notDirectory }
            if let child = try await liveEntry(parent: parent, name: name) {
                return entry(attributes(of: child), timeout: expiryBoundedTimeout(bornAt: child.createdAt))
            }
            if name.hasSuffix(sidecarSuffix) {
                // Sidecars come and go with uploads, renames and deletes of their file: never cached.
                let base = String(name.dropLast(sidecarSuffix.count))
                if let owner = try await liveEntry(parent: parent, name: base), owner.state == .uploaded {
                    return Entry(attributes: sidecarAttributes(of: owner), attributeTimeout: 0, entryTimeout: 0)
                }
                return .negative(timeout: 0)
            }
            // A name here appears only through this mount (create, mkdir, rename), which the
            // kernel sees: "no such name" can be cached for long (.hidden, .directory, ...).
            return .negative(timeout: settings.fixedNegativeTimeout)
        case .sidecar, .byID:
            throw FUSEError.notDirectory
        }
    }

    public func getattr(inode: Inode) async throws -> (FileAttributes, timeout: Double) {
        guard let node = Node(inode) else { throw FUSEError.notFound }
        switch node {
        case .root, .typeFolder, .byIDFolder:
            return (directoryAttributes(node), settings.cacheTimeout)
        case .entry(let id):
            guard let entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            return (attributes(of: entry), expiryBoundedTimeout(bornAt: entry.createdAt))
        case .sidecar(let id):
            guard let entry = try await liveEntry(id: id), entry.state == .uploaded else { throw FUSEError.notFound }
            return (sidecarAttributes(of: entry), 0)
        case .byID(let number):
            guard let mediaID = await byIDInodes.mediaID(for: number),
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
                let name = if case .typeFolder(let type) = child { type.rawValue } else { "by-id" }
                result.append(
                    DirectoryEntry(name: name, attributes: directoryAttributes(child), offset: Int64(index + 3)))
            }
        case .byIDFolder:
            result += try await byIDListing(after: offset)
        case .typeFolder, .entry:
            guard try await folder(inode) != nil else { throw FUSEError.notDirectory }
            // Resume with the first entry whose name or sidecar lies past `offset`.
            let afterID = offset >= 11 ? (offset - 11) / 2 : 0
            let now = Self.now
            for child in try await catalog.children(of: inode, afterID: afterID, limit: 64)
            where isAlive(child, now: now) {
                let id = child.id ?? 0
                if 2 * id + 10 > offset {
                    result.append(
                        DirectoryEntry(
                            name: child.name, attributes: attributes(of: child), offset: 2 * id + 10,
                            cacheTimeout: expiryBoundedTimeout(bornAt: child.createdAt)))
                }
                if child.state == .uploaded, 2 * id + 11 > offset {
                    result.append(
                        DirectoryEntry(
                            name: child.name + sidecarSuffix, attributes: sidecarAttributes(of: child),
                            offset: 2 * id + 11, cacheTimeout: 0))
                }
            }
        case .sidecar, .byID:
            throw FUSEError.notDirectory
        }
        return result
    }

    // MARK: Helpers shared by the operations

    static var now: Int64 { Int64(Date().timeIntervalSince1970) }

    var negative: Entry { .negative(timeout: settings.cacheTimeout) }

    func entry(_ attributes: FileAttributes, timeout: Double? = nil) -> Entry {
        let timeout = timeout ?? settings.cacheTimeout
        return Entry(attributes: attributes, attributeTimeout: timeout, entryTimeout: timeout)
    }

    /// How long the kernel may cache a name whose media were born at `bornAt`: never past expiry,
    /// so an expired file is gone from every path at once, not a cache timeout later.
    func expiryBoundedTimeout(bornAt: Int64?) -> Double {
        guard let bornAt else { return settings.cacheTimeout }
        let remaining = Double(bornAt + settings.mediaLifetimeSeconds) - Date().timeIntervalSince1970
        return max(0, min(settings.cacheTimeout, remaining))
    }

    /// Whether an entry is still visible: not expired (`created_at + TTL > now`).
    func isAlive(_ entry: CatalogEntry, now: Int64) -> Bool {
        guard let created = entry.createdAt else { return true }
        return created + settings.mediaLifetimeSeconds > now
    }

    func liveEntry(id: Int64) async throws -> CatalogEntry? {
        guard let entry = try await catalog.entry(id: id), isAlive(entry, now: Self.now) else { return nil }
        return entry
    }

    func liveEntry(parent: Inode, name: String) async throws -> CatalogEntry? {
        guard let entry = try await catalog.entry(parent: parent, name: name), isAlive(entry, now: Self.now) else {
            return nil
        }
        return entry
    }

    func liveKnownMedia(_ mediaID: String) async throws -> KnownMedia? {
        guard let media = try await catalog.knownMedia(mediaID),
            media.bornAt + settings.mediaLifetimeSeconds > Self.now
        else { return nil }
        return media
    }

    /// The media type of a folder inode (a type folder or a subfolder in one), or nil if it is not one.
    func folder(_ inode: Inode) async throws -> MediaType? {
        switch Node(inode) {
        case .typeFolder(let type): return type
        case .entry(let id):
            guard let entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            return entry.isDirectory ? entry.type : nil
        default: return nil
        }
    }

    /// `image/holiday/cat.jpg`, for log lines.
    func displayPath(of entry: CatalogEntry) async -> String {
        var parts = [entry.name]
        var parent = entry.parent
        for _ in 0..<64 {
            switch Node(parent) {
            case .typeFolder(let type):
                return ([type.rawValue] + parts.reversed()).joined(separator: "/")
            case .entry(let id):
                guard let folder = try? await catalog.entry(id: id) else {
                    return parts.reversed().joined(separator: "/")
                }
                parts.append(folder.name)
                parent = folder.parent
            default:
                return parts.reversed().joined(separator: "/")
            }
        }
        return parts.reversed().joined(separator: "/")
    }

    func directoryAttributes(_ node: Node) -> FileAttributes {
        FileAttributes(
            inode: node.inode, kind: .directory, permissions: node == .root || node == .byIDFolder ? 0o555 : 0o755,
            links: 2, uid: settings.uid, gid: settings.gid, size: 4096, accessTime: mountedAt,
            modificationTime: mountedAt, changeTime: mountedAt)
    }

    func attributes(of entry: CatalogEntry) -> FileAttributes {
        FileAttributes(
            inode: Node.entryInode(entry.id ?? 0), kind: entry.isDirectory ? .directory : .file,
            permissions: entry.mode, links: entry.isDirectory ? 2 : 1, uid: entry.uid, gid: entry.gid,
            size: entry.isDirectory ? 4096 : UInt64(max(0, entry.size)),
            accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.modificationTime),
            changeTime: .init(nanoseconds: entry.changeTime))
    }

    func sidecarAttributes(of entry: CatalogEntry) -> FileAttributes {
        FileAttributes(
            inode: Node.sidecar(entry.id ?? 0).inode, kind: .file, permissions: 0o444, uid: entry.uid, gid: entry.gid,
            size: UInt64((entry.mediaID?.utf8.count ?? 0) + 1), accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.changeTime), changeTime: .init(nanoseconds: entry.changeTime))
    }

    /// Makes the kernel look `name` up again before the caller answers (a name that went away
    /// when its first upload failed). Only from operations on files, never on their folder.
    func forgetCachedName(parent: Inode, name: String) async {
        await kernelCache.invalidateEntry(parent: parent, name: name)
    }

    func sidecarContent(of entry: CatalogEntry) -> [UInt8] {
        Array(((entry.mediaID ?? "") + "\n").utf8)
    }
}

extension timespec {
    init(nanoseconds: Int64) {
        self.init(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    init(seconds: Int64) {
        self.init(tv_sec: Int(seconds), tv_nsec: 0)
    }

    var nanoseconds: Int64 { Int64(tv_sec) * 1_000_000_000 + Int64(tv_nsec) }
}
