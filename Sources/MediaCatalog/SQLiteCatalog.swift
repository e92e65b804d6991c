import Foundation
import GRDB
import WeChatMedia

/// The catalog of one host, in SQLite (WAL) under the cache dir. Every lookup and listing goes
/// through an index.
///
/// Methods are `async` for their callers but use GRDB's synchronous accessors: each statement is
/// short and indexed, and a synchronous access runs on the calling thread, where the asynchronous
/// one costs two thread switches (to GRDB's queue and back) — most of a small upload's time.
///
/// One connection (a `DatabaseQueue`, in WAL mode) serves reads and writes: statements of one
/// host take microseconds, and a reader of a pool of connections re-reads from the WAL the pages
/// every write changed, which made each stat of a file being copied cost twice as much.
public final class SQLiteCatalog: Catalog {
    private let database: DatabaseQueue
    private let path: String

    public var isShared: Bool { false }
    public func foreignChanges() -> AsyncStream<CatalogChange>? { nil }
    public func health() async -> CatalogHealth { CatalogHealth(location: "sqlite \(path)", reachable: true) }
    /// Checkpoints the WAL into the database file, so a copied cache dir holds every commit.
    public func close() async { try? database.close() }

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        // WAL with NORMAL: a commit waits for no fsync (one per file uploaded was the slowest part
        // of many small uploads). A power cut may lose the last commits, never corrupt the file;
        // the media stay on the server and `/by-id/` still reaches them.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        database = try DatabaseQueue(path: path, configuration: configuration)
        try Self.migrator.migrate(database)
    }

    /// GRDB's synchronous read, which an `async` caller would not pick by itself.
    func reading<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }

    /// A read of a single statement, which SQLite makes consistent by itself: without the
    /// transaction GRDB wraps around `read`, the hottest lookups (every stat, open and close)
    /// cost half as much.
    func readingOneStatement<T>(_ body: (Database) throws -> T) throws -> T {
        try database.unsafeRead(body)
    }

    /// GRDB's synchronous write (one transaction). A full disk is said as such.
    func writing<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try database.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
            throw CatalogError.diskFull
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "entry") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("parent", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("type", .text).notNull()
                t.column("state", .text).notNull()
                t.column("mediaID", .text)
                t.column("format", .text)
                t.column("size", .integer).notNull()
                t.column("createdAt", .integer)
                t.column("mode", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("accessTime", .integer).notNull()
                t.column("modificationTime", .integer).notNull()
                t.column("changeTime", .integer).notNull()
                t.uniqueKey(["parent", "name"])
            }
            try db.create(index: "entry_on_mediaID", on: "entry", columns: ["mediaID"])
            try db.create(table: "knownMedia") { t in
                t.primaryKey("mediaID", .text)
                t.column("type", .text)
                t.column("size", .integer)
                t.column("contentType", .text)
                t.column("createdAt", .integer)
                t.column("firstSeen", .integer).notNull()
            }
            try db.create(table: "xattr") { t in
                t.column("entryID", .integer).notNull().references("entry", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("value", .blob).notNull()
                t.primaryKey(["entryID", "name"])
            }
        }
        migrator.registerMigration("v2: expiry indexes") { db in
            // The sweeper finds what expired without scanning every row.
            try db.create(index: "entry_on_createdAt", on: "entry", columns: ["createdAt"])
            try db.execute(sql: "CREATE INDEX knownMedia_on_bornAt ON knownMedia(COALESCE(createdAt, firstSeen))")
        }
        migrator.registerMigration("v3: expired ids are remembered") { db in
            // An expired id stays known for a while, so /by-id/ does not bring it back by asking the server.
            try db.alter(table: "knownMedia") { t in t.add(column: "purgedAt", .integer) }
        }
        migrator.registerMigration("v4: parents are catalog ids") { db in
            // v1-v3 stored the parent as a kernel inode number (a type folder's 2...5, a
            // subfolder's 1000 + id): meaningless to another host, and reordering MediaType
            // would have re-parented every row. GRDB runs migrations with foreign keys off, so
            // dropping the old table leaves the xattr rows, which keep their entry ids.
            try db.create(table: "entry_v4") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("type", .text).notNull()
                t.column("parentID", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("state", .text).notNull()
                t.column("mediaID", .text)
                t.column("format", .text)
                t.column("size", .integer).notNull()
                t.column("createdAt", .integer)
                t.column("mode", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("accessTime", .integer).notNull()
                t.column("modificationTime", .integer).notNull()
                t.column("changeTime", .integer).notNull()
                t.uniqueKey(["type", "parentID", "name"])
            }
            try db.execute(
                sql: """
                    INSERT INTO entry_v4 (id, type, parentID, name, state, mediaID, format, size, createdAt, mode,
                        uid, gid, accessTime, modificationTime, changeTime)
                    SELECT id, type, CASE WHEN parent BETWEEN 2 AND 5 THEN 0 ELSE parent - 1000 END, name, state,
                        mediaID, format, size, createdAt, mode, uid, gid, accessTime, modificationTime, changeTime
                    FROM entry WHERE parent BETWEEN 2 AND 5 OR parent > 1000
                    """)
            try db.drop(table: "entry")
            try db.rename(table: "entry_v4", to: "entry")
            try db.create(index: "entry_on_mediaID", on: "entry", columns: ["mediaID"])
            try db.create(index: "entry_on_createdAt", on: "entry", columns: ["createdAt"])
            // Extended attributes of rows that could not be brought over go with them.
            try db.execute(sql: "DELETE FROM xattr WHERE entryID NOT IN (SELECT id FROM entry)")
        }
        migrator.registerMigration("v5: upload folders' times") { db in
            try db.create(table: "folderTime") { t in
                t.primaryKey("type", .text)
                t.column("modificationTime", .integer).notNull()
                t.column("changeTime", .integer).notNull()
            }
        }
        migrator.registerMigration("v6: permanent material") { db in
            try db.create(table: "material") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("folder", .text).notNull()
                t.column("name", .text).notNull()
                t.column("state", .text).notNull()
                t.column("mediaID", .text)
                t.column("url", .text)
                t.column("contentHash", .text)
                t.column("size", .integer).notNull()
                t.column("updateTime", .integer)
                t.column("mode", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("accessTime", .integer).notNull()
                t.column("modificationTime", .integer).notNull()
                t.column("changeTime", .integer).notNull()
                t.uniqueKey(["folder", "name"])
            }
            try db.create(index: "material_on_mediaID", on: "material", columns: ["folder", "mediaID"])
            try db.create(index: "material_on_contentHash", on: "material", columns: ["folder", "contentHash"])
        }
        migrator.registerMigration("v7: article folders") { db in
            try db.create(table: "draftFolder") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("location", .text).notNull()
                t.column("name", .text).notNull()
                t.column("origin", .text).notNull()
                t.column("state", .text).notNull()
                t.column("draftID", .text)
                t.column("error", .text)
                t.column("errorCode", .integer)
                t.column("waitingFor", .text)
                t.column("builtArticles", .text)
                t.column("publishID", .text)
                t.column("publishStatus", .integer)
                t.column("articleID", .text)
                t.column("articleURLs", .text)
                t.column("nextPollAt", .integer)
                t.column("polls", .integer).notNull()
                t.column("updateTime", .integer)
                t.column("mode", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("modificationTime", .integer).notNull()
                t.column("changeTime", .integer).notNull()
                t.uniqueKey(["location", "name"])
            }
            try db.create(index: "draftFolder_on_state", on: "draftFolder", columns: ["state"])
            try db.create(table: "draftFile") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("folderID", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("size", .integer).notNull()
                t.column("contentHash", .text)
                t.column("mode", .integer).notNull()
                t.column("uid", .integer).notNull()
                t.column("gid", .integer).notNull()
                t.column("accessTime", .integer).notNull()
                t.column("modificationTime", .integer).notNull()
                t.column("changeTime", .integer).notNull()
                t.uniqueKey(["folderID", "name"])
            }
            try db.create(table: "publishPoll") { t in
                t.primaryKey("day", .integer)
                t.column("spent", .integer).notNull()
            }
        }
        migrator.registerMigration("v8: listings in id order") { db in
            // A listing page is a folder's next 64 rows by id: without this index SQLite read
            // the whole folder through the unique (type, parentID, name) one and sorted it, for
            // every page (an `ls -l` of 10,000 names read 160 times 10,000 rows).
            try db.create(index: "entry_on_folder_and_id", on: "entry", columns: ["type", "parentID", "id"])
        }
        return migrator
    }

    // MARK: Entries

    public func entry(id: Int64) async throws -> CatalogEntry? {
        try readingOneStatement { db in
            try CatalogEntry.fetchOne(
                db.cachedStatement(sql: "SELECT \(CatalogEntry.allColumns) FROM entry WHERE id = ?"), arguments: [id])
        }
    }

    public func entry(in folder: CatalogFolder, named name: String) async throws -> CatalogEntry? {
        try readingOneStatement { db in
            try CatalogEntry.fetchOne(
                db.cachedStatement(
                    sql: "SELECT \(CatalogEntry.allColumns) FROM entry WHERE type = ? AND parentID = ? AND name = ?"
                ),
                arguments: [folder.type, folder.parentID, name])
        }
    }

    public func children(of folder: CatalogFolder, afterID: Int64, limit: Int) async throws -> [CatalogEntry] {
        try reading { db in
            try CatalogEntry.filter(
                Column("type") == folder.type && Column("parentID") == folder.parentID && Column("id") > afterID
            )
            .order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    public func hasChildren(_ folder: CatalogFolder, bornAfter cutoff: Int64) async throws -> Bool {
        try reading { db in
            let created = Column("createdAt")
            let alive =
                created == nil
                || (created > cutoff && created >= ServerTime.plausibleRange.lowerBound
                    && created <= ServerTime.plausibleRange.upperBound)
            return try CatalogEntry.filter(Column("type") == folder.type && Column("parentID") == folder.parentID)
                .filter(alive).fetchCount(db) > 0
        }
    }

    public func insert(_ entry: CatalogEntry) async throws -> CatalogEntry {
        do {
            return try writing { db in
                // Touching the folder first also tells whether it is still there.
                guard try Self.touch(entry.folder, at: entry.changeTime, in: db) else { throw CatalogError.folderGone }
                var entry = entry
                try entry.insertRow(db)
                return entry
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw CatalogError.nameTaken
        }
    }

    public func update(_ entry: CatalogEntry) async throws {
        try writing { db in try entry.updateRow(db) }
    }

    public func updateMetadata(_ entry: CatalogEntry) async throws {
        try writing { db in
            try entry.update(db, columns: ["mode", "uid", "gid", "accessTime", "modificationTime", "changeTime"])
        }
    }

    public func update(_ entry: CatalogEntry, recording media: KnownMedia) async throws {
        try writing { db in
            try entry.updateRow(db)
            try media.saveRow(db)
        }
    }

    public func delete(id: Int64) async throws {
        _ = try writing { db in try CatalogEntry.deleteOne(db, key: id) }
    }

    public func remove(id: Int64, at location: CatalogChange.Location, time: Int64) async throws {
        try writing { db in
            guard try Self.entry(id, isAt: location, in: db) != nil else { throw CatalogError.notThere }
            _ = try CatalogEntry.deleteOne(db, key: id)
            try Self.touch(location.folder, at: time, in: db)
        }
    }

    public func removeFolder(
        id: Int64, at location: CatalogChange.Location, expiredAtOrBefore cutoff: Int64, time: Int64
    ) async throws {
        try writing { db in
            guard let folder = try Self.entry(id, isAt: location, in: db), let inside = folder.asFolder else {
                throw CatalogError.notThere
            }
            let plausible = ServerTime.plausibleRange
            let children = CatalogEntry.filter(Column("type") == inside.type && Column("parentID") == inside.parentID)
            let created = Column("createdAt")
            let expired = created <= cutoff || created < plausible.lowerBound || created > plausible.upperBound
            guard try children.filter(!expired || created == nil).fetchCount(db) == 0 else {
                throw CatalogError.notEmpty
            }
            _ = try children.deleteAll(db)
            _ = try CatalogEntry.deleteOne(db, key: id)
            try Self.touch(location.folder, at: time, in: db)
        }
    }

    public func move(
        id: Int64, from source: CatalogChange.Location, to folder: CatalogFolder, name: String, replacing: Int64?,
        changeTime: Int64
    ) async throws {
        try writing { db in
            guard var entry = try Self.entry(id, isAt: source, in: db) else { throw CatalogError.notThere }
            guard try Self.touch(folder, at: changeTime, in: db) else { throw CatalogError.folderGone }
            if folder != source.folder { try Self.touch(source.folder, at: changeTime, in: db) }
            if let replacing { _ = try CatalogEntry.deleteOne(db, key: replacing) }
            entry.folder = folder
            entry.name = name
            entry.changeTime = changeTime
            try entry.updateRow(db)
        }
    }

    public func topFolderTimes(_ type: MediaType) async throws -> FolderTimes? {
        try readingOneStatement { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT modificationTime, changeTime FROM folderTime WHERE type = ?"),
                arguments: [type.rawValue])
            return row.map { FolderTimes(modification: $0[0], change: $0[1]) }
        }
    }

    /// Entry `id`, if it is still at `location`.
    private static func entry(_ id: Int64, isAt location: CatalogChange.Location, in db: Database) throws
        -> CatalogEntry?
    {
        guard let entry = try CatalogEntry.fetchOne(db, key: id), entry.folder == location.folder,
            entry.name == location.name
        else { return nil }
        return entry
    }

    /// Sets a folder's modification and change times: a subfolder's row, or an upload folder's.
    /// Returns whether the folder exists.
    @discardableResult
    private static func touch(_ folder: CatalogFolder, at time: Int64, in db: Database) throws -> Bool {
        if folder.isTopLevel {
            try db.cachedStatement(
                sql: """
                    INSERT INTO folderTime (type, modificationTime, changeTime) VALUES (?, ?, ?)
                    ON CONFLICT (type) DO UPDATE SET modificationTime = excluded.modificationTime,
                        changeTime = excluded.changeTime
                    """
            ).execute(arguments: [folder.type.rawValue, time, time])
        } else {
            try db.cachedStatement(sql: "UPDATE entry SET modificationTime = ?, changeTime = ? WHERE id = ?")
                .execute(arguments: [time, time, folder.parentID])
            return db.changesCount > 0
        }
        return true
    }

    public func removeUnfinishedWrites() async throws -> [CatalogEntry] {
        try writing { db in
            let stale = try CatalogEntry.filter(Column("state") == CatalogEntry.State.writing.rawValue).fetchAll(db)
            _ = try CatalogEntry.filter(Column("state") == CatalogEntry.State.writing.rawValue).deleteAll(db)
            return stale
        }
    }

    // MARK: Expiry

    public func purgeExpired(
        bornAtOrBefore cutoff: Int64, plausible: ClosedRange<Int64>, forgetBefore: Int64, now: Int64
    )
        async throws -> (entries: [CatalogEntry], mediaIDs: [String])
    {
        try writing { db in
            // Rows an older version stored with a time no server sends go too (they are hidden already).
            let expired =
                Column("createdAt") <= cutoff || Column("createdAt") < plausible.lowerBound
                || Column("createdAt") > plausible.upperBound
            let entries = try CatalogEntry.filter(expired).fetchAll(db)
            _ = try CatalogEntry.filter(expired).deleteAll(db)
            let bornThen = "(COALESCE(createdAt, firstSeen) <= ? OR COALESCE(createdAt, firstSeen) NOT BETWEEN ? AND ?)"
            let ids = try String.fetchAll(
                db, sql: "SELECT mediaID FROM knownMedia WHERE \(bornThen) AND purgedAt IS NULL",
                arguments: [cutoff, plausible.lowerBound, plausible.upperBound])
            try db.execute(
                sql: "UPDATE knownMedia SET purgedAt = ? WHERE \(bornThen) AND purgedAt IS NULL",
                arguments: [now, cutoff, plausible.lowerBound, plausible.upperBound])
            try db.execute(
                sql: "DELETE FROM knownMedia WHERE COALESCE(createdAt, firstSeen) <= ?", arguments: [forgetBefore])
            return (entries, Array(Set(ids + entries.compactMap(\.mediaID))))
        }
    }

    public func forgetMediaEverywhere(_ mediaID: String) async throws -> [CatalogEntry] {
        try writing { db in
            let entries = try CatalogEntry.filter(Column("mediaID") == mediaID).fetchAll(db)
            _ = try CatalogEntry.filter(Column("mediaID") == mediaID).deleteAll(db)
            _ = try KnownMedia.deleteOne(db, key: mediaID)
            return entries
        }
    }

    // MARK: Media ids

    public func knownMedia(_ mediaID: String) async throws -> KnownMedia? {
        try readingOneStatement { db in
            try KnownMedia.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM knownMedia WHERE mediaID = ?"), arguments: [mediaID])
        }
    }

    public func knownMediaIDs(of type: MediaType) async throws -> [String] {
        try reading { db in
            try String.fetchAll(db, sql: "SELECT mediaID FROM knownMedia WHERE type = ?", arguments: [type])
        }
    }

    public func record(_ media: KnownMedia) async throws {
        try writing { db in try media.saveRow(db) }
    }

    public func knownMedia(bornAfter: Int64, afterRowID: Int64, limit: Int) async throws -> [(
        rowID: Int64, media: KnownMedia
    )] {
        try reading { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT rowid AS knownRowID, * FROM knownMedia
                    WHERE rowid > ? AND COALESCE(createdAt, firstSeen) > ? ORDER BY rowid LIMIT ?
                    """,
                arguments: [afterRowID, bornAfter, limit])
            return try rows.map { (rowID: $0["knownRowID"], media: try KnownMedia(row: $0)) }
        }
    }

    // MARK: Extended attributes

    public func xattrs(of entryID: Int64) async throws -> [String: [UInt8]] {
        try readingOneStatement { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT name, value FROM xattr WHERE entryID = ?"), arguments: [entryID])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as String, Array(($0["value"] as Data))) })
        }
    }

    public func setXattr(of entryID: Int64, name: String, value: [UInt8]) async throws {
        try writing { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO xattr (entryID, name, value) VALUES (?, ?, ?)",
                arguments: [entryID, name, Data(value)])
        }
    }

    public func removeXattr(of entryID: Int64, name: String) async throws -> Bool {
        try writing { db in
            try db.execute(sql: "DELETE FROM xattr WHERE entryID = ? AND name = ?", arguments: [entryID, name])
            return db.changesCount > 0
        }
    }
}
