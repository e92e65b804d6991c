import MediaCatalog
import Synchronization

/// Ids for new entries, drawn from the entry table's sequence a block at a time before they are
/// used (`PostgresCatalog.newEntryID`). An insert that names its id can learn, after losing its
/// connection, whether it committed (the row with that id exists) and is then safe to run again;
/// a sequence's value is never handed out twice, so no other insert takes it meanwhile. Ids of a
/// block this host does not use are skipped, as a rolled-back insert's are.
final class EntryIDReserve: Sendable {
    /// One round trip per this many creates.
    static let blockSize = 32
    private let ids = Mutex<[Int64]>([])

    /// An unused id, if one is left.
    func take() -> Int64? { ids.withLock { $0.popLast() } }

    /// Keeps a block drawn from the sequence, handed out from the smallest, so a host's creates
    /// keep their order in a listing.
    func keep(_ block: [Int64]) { ids.withLock { $0.append(contentsOf: block.reversed()) } }
}
