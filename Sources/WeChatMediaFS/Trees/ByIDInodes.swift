import CoreMetrics
import Synchronization

/// Inode numbers for `/by-id/` files, as long as the kernel holds them. A number is handed out
/// on first sight of a media id and never again (a monotonic counter); the row keeps the kernel's
/// lookup references to it, and goes when `forget` brings them to zero, so 100,000 lookups of
/// distinct ids cost nothing once the kernel has let them go. A row no reference reached (a
/// plain listing's entry, which the kernel does not count) goes once it has been unreferenced
/// for `unreferencedLifetime`: long past the moment between its number being handed out and the
/// answer that references it being sent.
final class ByIDInodes: Sendable {
    private struct Row {
        var mediaID: String
        var lookups: UInt64
    }

    private struct Table {
        var numbers: [String: UInt64] = [:]
        var rows: [UInt64: Row] = [:]
        var lastNumber: UInt64 = 0
        /// Numbers that had no reference when handed out or when forgotten, oldest first.
        var unreferenced: [(number: UInt64, since: ContinuousClock.Instant)] = []
        var unreferencedStart = 0
    }

    static let unreferencedLifetime: Duration = .seconds(10)
    private let table = Mutex(Table())
    private let size = Gauge(label: "wxmediafs_inodes", dimensions: [("table", "by_id")])

    /// The number for `mediaID`, handed out now if it has none.
    func number(for mediaID: String) -> UInt64 {
        let now = ContinuousClock.now
        return table.withLock { table in
            if let number = table.numbers[mediaID] { return number }
            Self.dropUnreferenced(&table, before: now - Self.unreferencedLifetime)
            table.lastNumber += 1
            let number = table.lastNumber
            table.numbers[mediaID] = number
            table.rows[number] = Row(mediaID: mediaID, lookups: 0)
            table.unreferenced.append((number, now))
            size.record(table.rows.count)
            return number
        }
    }

    func mediaID(for number: UInt64) -> String? { table.withLock { $0.rows[number]?.mediaID } }

    /// The kernel took a reference to `number`.
    func referenced(_ number: UInt64) {
        table.withLock { table in table.rows[number]?.lookups += 1 }
    }

    /// The kernel dropped `lookups` references to `number`; at zero the row goes.
    func forget(_ number: UInt64, lookups: UInt64) {
        table.withLock { table in
            guard var row = table.rows[number] else { return }
            row.lookups -= min(row.lookups, lookups)
            if row.lookups == 0 {
                table.rows[number] = nil
                table.numbers[row.mediaID] = nil
                Self.shrinkIfSparse(&table)
                size.record(table.rows.count)
            } else {
                table.rows[number] = row
            }
        }
    }

    /// How many ids have a number now (for `status`, metrics and tests).
    var count: Int { table.withLock { $0.rows.count } }

    /// A dictionary keeps its capacity when rows go: once three quarters of it is empty, the
    /// table is copied into storage of its size, so memory goes back down with the rows.
    private static func shrinkIfSparse(_ table: inout Table) {
        guard table.rows.capacity > 1024, table.rows.count * 4 < table.rows.capacity else { return }
        table.rows = Dictionary(uniqueKeysWithValues: Array(table.rows))
        table.numbers = Dictionary(uniqueKeysWithValues: Array(table.numbers))
        let live = table.unreferenced[table.unreferencedStart...].filter { table.rows[$0.number]?.lookups == 0 }
        table.unreferenced = Array(live)
        table.unreferencedStart = 0
    }

    /// Drops the rows that are still unreferenced and were handed out before `cutoff`.
    private static func dropUnreferenced(_ table: inout Table, before cutoff: ContinuousClock.Instant) {
        while table.unreferencedStart < table.unreferenced.count,
            table.unreferenced[table.unreferencedStart].since < cutoff
        {
            let number = table.unreferenced[table.unreferencedStart].number
            table.unreferencedStart += 1
            if let row = table.rows[number], row.lookups == 0 {
                table.rows[number] = nil
                table.numbers[row.mediaID] = nil
            }
        }
        // Compacted once the dropped head is half the queue: amortized O(1) per number.
        if table.unreferencedStart > 1024, table.unreferencedStart * 2 > table.unreferenced.count {
            table.unreferenced.removeFirst(table.unreferencedStart)
            table.unreferencedStart = 0
        }
    }
}
