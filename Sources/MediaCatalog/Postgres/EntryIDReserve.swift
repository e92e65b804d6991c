import Logging
import PostgresNIO
import Synchronization

/// Ids for new entries, drawn from the entry table's sequence a block at a time before they are
/// used. An insert that names its id can learn, after losing its connection, whether it
/// committed (the row with that id exists) and is then safe to run again; a sequence's value is
/// never handed out twice, so no other insert takes it meanwhile. Ids of a block this host does
/// not use are skipped, as a rolled-back insert's are.
final class EntryIDReserve: Sendable {
    /// One round trip per this many creates.
    static let blockSize = 32
    private let ids = Mutex<[Int64]>([])

    /// An unused id, drawing a new block with `call` when none is left.
    func next(
        drawingWith call: (String, @escaping @Sendable (PostgresClient) async throws -> [Int64]) async throws
            -> [Int64],
        logger: Logger
    ) async throws -> Int64 {
        if let id = ids.withLock({ $0.popLast() }) { return id }
        let block = try await call("reserving ids") { client in
            let rows = try await client.query(
                """
                SELECT nextval(pg_get_serial_sequence('entry', 'id'))
                FROM generate_series(1, \(Self.blockSize))
                """, logger: logger)
            var block: [Int64] = []
            for try await id in rows.decode(Int64.self) { block.append(id) }
            return block
        }
        guard let id = block.first, id > 0 else { throw CatalogError.malformedRow("the entry sequence gave no id") }
        // Handed out from the smallest, so a host's creates keep their order in a listing.
        ids.withLock { $0.append(contentsOf: block.dropFirst().filter { $0 > 0 }.reversed()) }
        return id
    }
}
