import GRDB
import WeChatMedia

// The catalog's values as rows of the SQLite catalog: GRDB stays beside `SQLiteCatalog`, and
// the values the filesystem and the fleet catalog pass around know nothing of it.

extension CatalogEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "entry"

    // Rows are read column by column, not through Codable: every stat, create and close reads
    // an entry, and the keyed containers cost more than the statement. Every read selects
    // `allColumns`, so a row is read by position (by name, GRDB builds a dictionary of the row's
    // column names for each row). The writes of a create and a close are statements of their own
    // (below); the rarer ones (a chmod, a touch) go through GRDB's Codable encoding.

    /// Every column, in the order `init(row:)` reads them and `values` writes them (but the id).
    private static let columnNames = [
        "id", "type", "parentID", "name", "state", "mediaID", "format", "size", "createdAt", "mode", "uid", "gid",
        "accessTime", "modificationTime", "changeTime",
    ]
    /// What each read of entries selects.
    static let allColumns = columnNames.joined(separator: ", ")
    private static let insertSQL =
        "INSERT INTO entry (\(allColumns)) VALUES (\(Array(repeating: "?", count: columnNames.count).joined(separator: ", ")))"
    private static let updateSQL =
        "UPDATE entry SET \(columnNames.dropFirst().map { "\($0) = ?" }.joined(separator: ", ")) WHERE id = ?"

    public static var databaseSelection: [any SQLSelectable] { columnNames.map { Column($0) } }

    public init(row: Row) throws {
        self.init(
            id: try row.decode(atIndex: 0),
            folder: CatalogFolder(type: try row.decode(atIndex: 1), parentID: try row.decode(atIndex: 2)),
            name: try row.decode(atIndex: 3), state: try row.decode(atIndex: 4), mediaID: try row.decode(atIndex: 5),
            format: try row.decode(atIndex: 6), size: try row.decode(atIndex: 7), createdAt: try row.decode(atIndex: 8),
            mode: try row.decode(atIndex: 9), uid: try row.decode(atIndex: 10), gid: try row.decode(atIndex: 11),
            accessTime: try row.decode(atIndex: 12), modificationTime: try row.decode(atIndex: 13),
            changeTime: try row.decode(atIndex: 14))
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    /// Every column but the id, in the order of `columnNames`.
    private var values: StatementArguments {
        [
            type, parentID, name, state, mediaID, format, size, createdAt, mode, uid, gid, accessTime,
            modificationTime, changeTime,
        ]
    }

    // The writes of every create and close as cached statements: GRDB's generic record
    // persistence spent about 0.3 ms of CPU per row building them.

    /// Inserts it as a new row (under its id, or a new one when it has none) and takes the row's id.
    mutating func insertRow(_ db: Database) throws {
        try db.cachedStatement(sql: Self.insertSQL).execute(arguments: [id] + values)
        id = db.lastInsertedRowID
    }

    /// Writes every column of its row; a row that is gone is `RecordError.recordNotFound`, as
    /// GRDB's `update` says it.
    func updateRow(_ db: Database) throws {
        try db.cachedStatement(sql: Self.updateSQL).execute(arguments: values + [id])
        guard db.changesCount > 0 else {
            throw RecordError.recordNotFound(databaseTableName: Self.databaseTableName, key: ["id": id.databaseValue])
        }
    }
}

extension CatalogEntry.State: DatabaseValueConvertible {}

extension KnownMedia: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "knownMedia"

    // Column by column, as entries are read; written by `saveRow`.
    public init(row: Row) throws {
        self.init(
            mediaID: try row.decode(forColumn: "mediaID"), type: try row.decode(forColumn: "type"),
            size: try row.decode(forColumn: "size"), contentType: try row.decode(forColumn: "contentType"),
            createdAt: try row.decode(forColumn: "createdAt"), firstSeen: try row.decode(forColumn: "firstSeen"))
    }

    /// Inserts or rewrites its row (`purgedAt` is left as it is), as one cached statement.
    func saveRow(_ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO knownMedia (mediaID, type, size, contentType, createdAt, firstSeen) VALUES (?,?,?,?,?,?)
                ON CONFLICT (mediaID) DO UPDATE SET type = excluded.type, size = excluded.size,
                    contentType = excluded.contentType, createdAt = excluded.createdAt, firstSeen = excluded.firstSeen
                """
        ).execute(arguments: [mediaID, type, size, contentType, createdAt, firstSeen])
    }
}

extension MediaType: DatabaseValueConvertible {}
extension MediaFormat: DatabaseValueConvertible {}

extension MaterialEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "material"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension MaterialEntry.State: DatabaseValueConvertible {}
extension MaterialFolder: DatabaseValueConvertible {}
