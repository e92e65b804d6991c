import FUSEKit
import Logging
import MediaCatalog
import Synchronization
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the catalog's `/material/` names in step with the server's listing: once per crawl
/// (at most one per `--material-list-ttl`), materials the catalog does not hold get a row named
/// by `MaterialNames`, and rows whose material the crawl no longer shows go (unless they changed
/// after the crawl began: an upload the crawl could not see yet). Rows make the names stable
/// across remounts and hosts, and give each material an inode.
final class MaterialListingSync: Sendable {
    private let listings: MaterialListings
    private let catalog: any MaterialCatalog
    private let service: any MaterialService
    private let caps: MaterialCaps
    private let context: MountContext
    /// The start of the crawl last applied, by type.
    private let applied = Mutex<[MediaType: Int64]>([:])

    init(catalog: any MaterialCatalog, service: any MaterialService, caps: MaterialCaps, context: MountContext) {
        self.catalog = catalog
        self.service = service
        self.caps = caps
        self.context = context
        self.listings = MaterialListings(
            lister: service, lifetimeSeconds: context.settings.materialListSeconds, clock: context.clock)
    }

    /// Brings `folder`'s rows up to the server's listing, crawling if the kept one is too old.
    /// Folders no API lists (thumbs, article images) have nothing to do.
    func refresh(_ folder: MaterialFolder) async throws {
        guard let type = folder.listedType else { return }
        let listing: MaterialListing
        do {
            listing = try await listings.listing(of: type)
        } catch {
            throw context.reporter.report("list", of: "material/" + folder.rawValue, error)
        }
        guard applied.withLock({ $0[type] }) != listing.startedAt else { return }
        try await apply(listing, to: folder)
        applied.withLock { $0[type] = listing.startedAt }
        // The counts come with each crawl: one request more per crawl.
        if let counts = try? await service.materialCounts() { caps.record(counts) }
    }

    private func apply(_ listing: MaterialListing, to folder: MaterialFolder) async throws {
        var rows: [MaterialEntry] = []
        var afterID: Int64 = 0
        while true {
            let page = try await catalog.materialEntries(in: folder, afterID: afterID, limit: 1000)
            rows += page
            guard page.count == 1000, let last = page.last?.id else { break }
            afterID = last
        }
        let onServer = Set(listing.items.map(\.mediaID))
        let folderInode = Node.materialFolder(folder).inode
        var kept: [MaterialEntry] = []
        for row in rows {
            guard row.state == .uploaded, let mediaID = row.mediaID, !onServer.contains(mediaID),
                row.changeTime < listing.startedAt, let id = row.id
            else {
                kept.append(row)
                continue
            }
            context.logger.notice("material/\(folder.rawValue)/\(row.name) is no longer on the server: removed")
            try await catalog.deleteMaterial(id: id)
            context.kernelCache.postInvalidateEntry(parent: folderInode, name: row.name)
            context.kernelCache.postInvalidateEntry(
                parent: folderInode, name: MaterialTree.sidecar(of: row.name, in: folder))
        }
        let held = Set(kept.compactMap(\.mediaID))
        // Whatever service listed them, an id that is no id names no file.
        let fresh = listing.items.filter {
            !held.contains($0.mediaID) && OpaqueID.isWellFormed($0.mediaID, maxLength: 128)
        }
        guard !fresh.isEmpty else { return }
        // Names held by rows with no id (placeholders, files being written) are reserved too.
        var reserved: [String: String] = [:]
        for row in kept { reserved[row.name] = row.mediaID ?? "#\(row.id ?? 0)" }
        let names = MaterialNames.names(for: fresh, reserved: reserved)
        for item in fresh {
            guard let name = names[item.mediaID] else { continue }
            let time = timespec(seconds: item.updateTime).nanoseconds
            let row = MaterialEntry(
                folder: folder, name: name, state: .uploaded, mediaID: item.mediaID,
                url: item.url.flatMap { MaterialReply.isHTTPURL($0) ? $0 : nil },
                size: MaterialTree.unknownSize, updateTime: item.updateTime, mode: 0o644, uid: context.settings.uid,
                gid: context.settings.gid, accessTime: time, modificationTime: time, changeTime: time)
            do {
                _ = try await catalog.insertMaterial(row)
            } catch CatalogError.nameTaken {
                // Made meanwhile (a create here, another host's listing): the next crawl names it.
                continue
            }
            context.kernelCache.postInvalidateEntry(parent: folderInode, name: name)
        }
    }

    /// `refresh` if no crawl of `folder`'s type was applied since the mount began; whether it
    /// ran (a crawl that failed is reported, and counts as not run).
    func refreshIfNeverApplied(_ folder: MaterialFolder) async -> Bool {
        guard let type = folder.listedType, applied.withLock({ $0[type] }) == nil else { return false }
        return (try? await refresh(folder)) != nil
    }
}
