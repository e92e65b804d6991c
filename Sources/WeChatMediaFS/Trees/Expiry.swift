import MediaCatalog
import WeChatMedia

/// Temporary media live `--media-ttl` (3 days) on the server: past it a name is hidden at once
/// from every path, whether or not the sweep has purged it yet. Every read of the catalog that a
/// caller sees goes through here, so no tree decides what "alive" means on its own.
struct Expiry: Sendable {
    let catalog: any Catalog
    let clock: any MountClock
    let lifetimeSeconds: Int64
    let cacheTimeout: Double

    /// The instant media born at `bornAt` expire. Saturating: a time an older version stored
    /// unchecked cannot trap here.
    func expiry(bornAt: Int64) -> Int64 { bornAt.saturatingAdd(lifetimeSeconds) }

    /// Media born at or before this instant have expired.
    var cutoff: Int64 { clock.seconds.saturatingAdd(-lifetimeSeconds) }

    /// How long the kernel may cache a name whose media were born at `bornAt`: never past expiry,
    /// so an expired file is gone from every path at once, not a cache timeout later.
    func boundedTimeout(bornAt: Int64?) -> Double {
        guard let bornAt else { return cacheTimeout }
        let remaining = Double(expiry(bornAt: bornAt)) - Double(clock.now()) / 1e9
        return max(0, min(cacheTimeout, remaining))
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

    func entry(id: Int64) async throws -> CatalogEntry? {
        guard let entry = try await catalog.entry(id: id), isAlive(entry, now: clock.seconds) else { return nil }
        return entry
    }

    func entry(in folder: CatalogFolder, named name: String) async throws -> CatalogEntry? {
        guard let entry = try await catalog.entry(in: folder, named: name), isAlive(entry, now: clock.seconds) else {
            return nil
        }
        return entry
    }

    func knownMedia(_ mediaID: String) async throws -> KnownMedia? {
        guard let media = try await catalog.knownMedia(mediaID), isAlive(bornAt: media.bornAt, now: clock.seconds)
        else { return nil }
        return media
    }

    func hasChildren(_ folder: CatalogFolder) async throws -> Bool {
        try await catalog.hasChildren(folder, bornAfter: cutoff)
    }
}
