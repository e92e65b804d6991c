import MediaCatalog
import Synchronization

/// With `--sidecars off`, the sidecar names a tool wrote lately. They stay findable for a
/// minute, so what copies a file's metadata after writing it (`shutil.copy2`'s `utime` and
/// `chmod` by path, `cp -p`) finds the name it just made; then they are gone again, and a later
/// `cp -r` into a new folder meets no name (its O_EXCL create would fail on one).
final class DiscardedSidecars: Sendable {
    private struct Key: Hashable {
        var folder: CatalogFolder
        var name: String
    }

    static let remembered: Duration = .seconds(60)
    static let capacity = 10_000
    private let written = Mutex<[Key: ContinuousClock.Instant]>([:])

    func remember(_ name: String, in folder: CatalogFolder) {
        let now = ContinuousClock.now
        written.withLock { written in
            if written.count >= Self.capacity { written = written.filter { now < $0.value + Self.remembered } }
            if written.count >= Self.capacity { written.removeAll() }
            written[Key(folder: folder, name: name)] = now
        }
    }

    func contains(_ name: String, in folder: CatalogFolder) -> Bool {
        let key = Key(folder: folder, name: name)
        return written.withLock { written in
            guard let at = written[key] else { return false }
            guard ContinuousClock.now < at + Self.remembered else {
                written[key] = nil
                return false
            }
            return true
        }
    }

    func forget(_ name: String, in folder: CatalogFolder) {
        _ = written.withLock { $0.removeValue(forKey: Key(folder: folder, name: name)) }
    }
}
