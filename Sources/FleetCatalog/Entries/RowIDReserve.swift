import MediaCatalog
import Synchronization

/// The catalog's tables whose rows are inserted under an id drawn first (SQL names written
/// here, never taken from input).
enum IDTable: String, Sendable {
    case entry, material
    case draftFolder = "draft_folder"
    case draftFile = "draft_file"
}

/// Ids for new rows of one table, drawn from its sequence a block at a time before they are
/// used (`PostgresCatalog.newID(in:)`). An insert that names its id can learn, after losing its
/// connection, whether it committed (the row with that id exists) and is then safe to run again;
/// a sequence's value is never handed out twice, so no other insert takes it meanwhile. Ids of a
/// block this host does not use are skipped, as a rolled-back insert's are.
final class RowIDReserve: Sendable {
    /// One round trip per this many creates.
    static let blockSize = 32
    let table: IDTable
    private let ids = Mutex<[Int64]>([])

    init(for table: IDTable) { self.table = table }

    /// An unused id, if one is left.
    func take() -> Int64? { ids.withLock { $0.popLast() } }

    /// Keeps a block drawn from the sequence, handed out from the smallest, so a host's creates
    /// keep their order in a listing.
    func keep(_ block: [Int64]) { ids.withLock { $0.append(contentsOf: block.reversed()) } }
}
