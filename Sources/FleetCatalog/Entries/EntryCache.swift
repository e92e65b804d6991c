import MediaCatalog
import Synchronization

/// Entries this host read lately, so a `stat` after a listing costs no round trip to the
/// database. Kept coherent by invalidation, not by time: every change this host commits and
/// every change the feed brings from other hosts drops what it touches, and an answer read
/// while anything was dropped is not kept (it may predate the change). The lifetime is only a
/// backstop for a change that never reaches this host (a host cut off from the database).
final class EntryCache: Sendable {
    private struct NameKey: Hashable {
        var folder: CatalogFolder
        var name: String
    }

    private struct Cached {
        var entry: CatalogEntry
        var storedAt: ContinuousClock.Instant
    }

    private struct Misses {
        var count: Int
        var since: ContinuousClock.Instant
    }

    private struct State {
        var byID: [Int64: Cached] = [:]
        var byName: [NameKey: Int64] = [:]
        var misses: [CatalogFolder: Misses] = [:]
        /// Bumped by every invalidation: a read that began at another epoch is not stored.
        var epoch: UInt64 = 0
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    /// Past it the cache starts again rather than grow.
    private static let capacity = 100_000

    init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    var epoch: UInt64 { state.withLock { $0.epoch } }

    func entry(id: Int64) -> CatalogEntry? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let cached = state.byID[id], cached.storedAt.duration(to: now) < lifetime else { return nil }
            return cached.entry
        }
    }

    func entry(in folder: CatalogFolder, named name: String) -> CatalogEntry? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let id = state.byName[NameKey(folder: folder, name: name)], let cached = state.byID[id],
                cached.storedAt.duration(to: now) < lifetime, cached.entry.folder == folder, cached.entry.name == name
            else { return nil }
            return cached.entry
        }
    }

    /// Keeps `entries`, read from the database since `epoch`, unless something changed meanwhile.
    /// Entries being written change with every write and are never kept.
    func store(_ entries: [CatalogEntry], readSince epoch: UInt64) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard state.epoch == epoch else { return }
            if state.byID.count + entries.count > Self.capacity {
                state.byID.removeAll(keepingCapacity: true)
                state.byName.removeAll(keepingCapacity: true)
            }
            for entry in entries where entry.state != .writing && entry.state != .queued {
                guard let id = entry.id else { continue }
                state.byID[id] = Cached(entry: entry, storedAt: now)
                state.byName[NameKey(folder: entry.folder, name: entry.name)] = id
            }
        }
    }

    /// Drops entry `id` and whatever is cached under the names given.
    func invalidate(id: Int64?, names: [CatalogChange.Location] = []) {
        state.withLock { state in
            state.epoch &+= 1
            if let id, let cached = state.byID.removeValue(forKey: id) {
                state.byName.removeValue(forKey: NameKey(folder: cached.entry.folder, name: cached.entry.name))
            }
            for location in names {
                if let other = state.byName.removeValue(forKey: NameKey(folder: location.folder, name: location.name)) {
                    state.byID.removeValue(forKey: other)
                }
            }
        }
    }

    func invalidate(_ change: CatalogChange) {
        invalidate(id: change.entryID, names: [change.location, change.previousLocation].compactMap { $0 })
    }

    /// Counts a name of `folder` not found here; true once `threshold` of them came within a
    /// second (a `find`, an `rsync`, a script that stats every file): time to read the folder.
    func noteMiss(in folder: CatalogFolder, threshold: Int) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            var misses = state.misses[folder] ?? Misses(count: 0, since: now)
            if misses.since.duration(to: now) > .seconds(1) { misses = Misses(count: 0, since: now) }
            misses.count += 1
            if state.misses.count > 1024 { state.misses.removeAll(keepingCapacity: true) }
            state.misses[folder] = misses.count >= threshold ? nil : misses
            return misses.count >= threshold
        }
    }

    func clear() {
        state.withLock { state in
            state.epoch &+= 1
            state.byID.removeAll()
            state.byName.removeAll()
        }
    }
}
