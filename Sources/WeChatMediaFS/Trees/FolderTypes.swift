import MediaCatalog
import Synchronization
import WeChatMedia

/// The upload folder each subfolder met is in, by catalog id. A subfolder never changes type
/// (a rename across upload folders is EXDEV), so a lookup in it needs no query for the folder
/// itself: with a catalog across the network that halves the cost of a `stat`. Only lookups
/// use it; what creates or moves names checks that the folder still exists.
final class FolderTypes: Sendable {
    private let types = Mutex<[Int64: MediaType]>([:])
    /// Enough for any tree a person keeps; past it the map starts again rather than grow.
    private static let capacity = 16_384

    func folder(_ id: Int64) -> CatalogFolder? {
        types.withLock { $0[id] }.map { CatalogFolder(type: $0, parentID: id) }
    }

    func remember(_ folder: CatalogFolder) {
        guard !folder.isTopLevel else { return }
        types.withLock { types in
            if types.count >= Self.capacity { types.removeAll(keepingCapacity: true) }
            types[folder.parentID] = folder.type
        }
    }

    func forget(_ id: Int64) {
        _ = types.withLock { $0.removeValue(forKey: id) }
    }
}
