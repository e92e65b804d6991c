import MediaCatalog
import Synchronization

/// What this host last read of the tree: entries by id and name, and listing pages. It is
/// never answered from while the database answers; while it is away, lookups, listings and
/// reads of cached bytes go on from here, read-only, as a single host goes on with WeChat
/// unreachable (`status` says since when the view is stale). Changes this host commits or
/// learns from the feed drop what they touch, so the view never shows what it knows is gone.
final class LastView: Sendable {
    private struct NameKey: Hashable {
        var folder: CatalogFolder
        var name: String
    }

    private struct PageKey: Hashable {
        var folder: CatalogFolder
        var afterID: Int64
        var limit: Int
    }

    private struct State {
        var byID: [Int64: CatalogEntry] = [:]
        var byName: [NameKey: Int64] = [:]
        var pages: [PageKey: [CatalogEntry]] = [:]
        /// Folders whose first page was their whole listing: a name not in it does not exist.
        var whole: Set<CatalogFolder> = []
    }

    private let state = Mutex(State())
    /// Past it the view starts again rather than grow.
    private static let capacity = 200_000

    func keep(_ entries: [CatalogEntry]) {
        state.withLock { state in
            if state.byID.count + entries.count > Self.capacity { state = State() }
            for entry in entries where entry.state != .writing {
                guard let id = entry.id else { continue }
                state.byID[id] = entry
                state.byName[NameKey(folder: entry.folder, name: entry.name)] = id
            }
        }
    }

    func keep(page entries: [CatalogEntry], of folder: CatalogFolder, afterID: Int64, limit: Int) {
        keep(entries)
        state.withLock { state in
            if state.pages.count > 10_000 { state.pages.removeAll(keepingCapacity: true) }
            state.pages[PageKey(folder: folder, afterID: afterID, limit: limit)] = entries
            if afterID == 0 && entries.count < limit {
                state.whole.insert(folder)
            } else if afterID == 0 {
                state.whole.remove(folder)
            }
        }
    }

    func entry(id: Int64) -> CatalogEntry? {
        state.withLock { $0.byID[id] }
    }

    /// The entry named `name` in `folder`: `.some(nil)` when the view knows there is none, nil
    /// when it does not know.
    func entry(in folder: CatalogFolder, named name: String) -> CatalogEntry?? {
        state.withLock { state in
            if let id = state.byName[NameKey(folder: folder, name: name)], let entry = state.byID[id],
                entry.folder == folder, entry.name == name
            {
                return .some(entry)
            }
            return state.whole.contains(folder) ? .some(nil) : nil
        }
    }

    func page(of folder: CatalogFolder, afterID: Int64, limit: Int) -> [CatalogEntry]? {
        state.withLock { state in
            state.pages[PageKey(folder: folder, afterID: afterID, limit: limit)].map { page in
                // Entries dropped since (removed, moved) are not shown.
                page.filter { entry in entry.id.map { state.byID[$0] != nil } ?? false }
                    .compactMap { entry in entry.id.flatMap { state.byID[$0] } }
                    .filter { $0.folder == folder }
            }
        }
    }

    /// Drops what `change` touched, and the listings of its folders.
    func forget(_ change: CatalogChange) {
        state.withLock { state in
            if let entry = state.byID.removeValue(forKey: change.entryID) {
                state.byName.removeValue(forKey: NameKey(folder: entry.folder, name: entry.name))
            }
            for location in [change.location, change.previousLocation].compactMap({ $0 }) {
                if let id = state.byName.removeValue(forKey: NameKey(folder: location.folder, name: location.name)) {
                    state.byID.removeValue(forKey: id)
                }
                state.whole.remove(location.folder)
            }
        }
    }

    func forget(id: Int64) {
        forget(CatalogChange(entryID: id, location: nil, previousLocation: nil))
    }

    func forgetAll() {
        state.withLock { $0 = State() }
    }
}
