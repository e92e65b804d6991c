import GRDB
import WeChatMedia

// The catalog's values as rows of the SQLite catalog: GRDB stays beside `SQLiteCatalog`, and
// the values the filesystem and the fleet catalog pass around know nothing of it.

extension CatalogEntry: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "entry"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension CatalogEntry.State: DatabaseValueConvertible {}

extension KnownMedia: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "knownMedia"
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
