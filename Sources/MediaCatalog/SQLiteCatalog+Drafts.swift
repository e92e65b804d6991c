import GRDB

extension SQLiteCatalog: DraftCatalog {
    public func draftFolder(id: Int64) async throws -> DraftFolder? {
        try reading { db in try DraftFolder.fetchOne(db, key: id) }
    }

    public func draftFolder(in location: DraftFolder.Location, named name: String) async throws -> DraftFolder? {
        try reading { db in
            try DraftFolder.filter(Column("location") == location && Column("name") == name).fetchOne(db)
        }
    }

    public func draftFolders(in location: DraftFolder.Location) async throws -> [DraftFolder] {
        try reading { db in try DraftFolder.filter(Column("location") == location).order(Column("id")).fetchAll(db) }
    }

    public func draftFolders(in state: DraftFolder.State) async throws -> [DraftFolder] {
        try reading { db in try DraftFolder.filter(Column("state") == state).order(Column("id")).fetchAll(db) }
    }

    public func insertDraftFolder(_ folder: DraftFolder) async throws -> DraftFolder {
        try uniquely {
            try writing { db in
                var folder = folder
                try folder.insert(db)
                return folder
            }
        }
    }

    public func updateDraftFolder(_ folder: DraftFolder) async throws {
        do {
            try writing { db in try folder.update(db, columns: Self.draftFolderColumns) }
        } catch is RecordError {
            throw CatalogError.entryGone
        }
    }

    private static let draftFolderColumns = [
        "origin", "state", "draftID", "error", "errorCode", "waitingFor", "builtArticles", "publishID",
        "publishStatus", "articleID", "articleURLs", "nextPollAt", "polls", "updateTime", "mode", "uid", "gid",
        "modificationTime", "changeTime",
    ]

    public func moveDraftFolder(id: Int64, to location: DraftFolder.Location, named name: String) async throws {
        try uniquely {
            try writing { db in
                try db.execute(
                    sql: "UPDATE draftFolder SET location = ?, name = ? WHERE id = ?", arguments: [location, name, id])
                guard db.changesCount == 1 else { throw CatalogError.notThere }
            }
        }
    }

    public func deleteDraftFolder(id: Int64) async throws -> [DraftFile] {
        try writing { db in
            let files = try DraftFile.filter(Column("folderID") == id).fetchAll(db)
            _ = try DraftFile.filter(Column("folderID") == id).deleteAll(db)
            _ = try DraftFolder.deleteOne(db, key: id)
            return files
        }
    }

    public func draftFile(id: Int64) async throws -> DraftFile? {
        try readingOneStatement { db in try DraftFile.fetchOne(db, key: id) }
    }

    public func draftFile(in folderID: Int64, named name: String) async throws -> DraftFile? {
        try reading { db in try DraftFile.filter(Column("folderID") == folderID && Column("name") == name).fetchOne(db)
        }
    }

    public func draftFiles(in folderID: Int64) async throws -> [DraftFile] {
        try reading { db in try DraftFile.filter(Column("folderID") == folderID).order(Column("id")).fetchAll(db) }
    }

    public func insertDraftFile(_ file: DraftFile) async throws -> DraftFile {
        try uniquely {
            try writing { db in
                guard try DraftFolder.exists(db, key: file.folderID) else { throw CatalogError.folderGone }
                var file = file
                try file.insert(db)
                return file
            }
        }
    }

    public func updateDraftFile(_ file: DraftFile) async throws {
        do {
            try writing { db in
                try file.update(
                    db,
                    columns: [
                        "size", "contentHash", "mode", "uid", "gid", "accessTime", "modificationTime", "changeTime",
                    ])
            }
        } catch is RecordError {
            throw CatalogError.entryGone
        }
    }

    public func deleteDraftFile(id: Int64) async throws {
        try writing { db in _ = try DraftFile.deleteOne(db, key: id) }
    }

    public func renameDraftFile(id: Int64, to name: String, replacing: Int64?) async throws {
        try uniquely {
            try writing { db in
                if let replacing { _ = try DraftFile.deleteOne(db, key: replacing) }
                try db.execute(sql: "UPDATE draftFile SET name = ? WHERE id = ?", arguments: [name, id])
                guard db.changesCount == 1 else { throw CatalogError.notThere }
            }
        }
    }

    public func spendPublishPoll(day: Int64, budget: Int) async throws -> Bool {
        try writing { db in
            try db.execute(sql: "INSERT OR IGNORE INTO publishPoll (day, spent) VALUES (?, 0)", arguments: [day])
            try db.execute(
                sql: "UPDATE publishPoll SET spent = spent + 1 WHERE day = ? AND spent < ?", arguments: [day, budget])
            return db.changesCount == 1
        }
    }

    public func publishPollsSpent(day: Int64) async throws -> Int {
        try reading { db in
            try Int.fetchOne(db, sql: "SELECT spent FROM publishPoll WHERE day = ?", arguments: [day]) ?? 0
        }
    }

    public func claimPublishPoll(id: Int64, due: Int64?, next: Int64) async throws -> Bool {
        try writing { db in
            try db.execute(
                sql: "UPDATE draftFolder SET nextPollAt = ? WHERE id = ? AND state = 'publishing' AND nextPollAt IS ?",
                arguments: [next, id, due])
            return db.changesCount == 1
        }
    }

    /// One mount per cache dir: nothing else builds this catalog's folders.
    public func claimDraftBuild(id: Int64) async throws -> Bool { true }

    public func endDraftBuild(id: Int64) async throws {}

    /// A unique constraint broken is a name already taken.
    private func uniquely<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw CatalogError.nameTaken
        }
    }
}

extension DraftFolder: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "draftFolder"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension DraftFile: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "draftFile"

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension DraftFolder.Location: DatabaseValueConvertible {}
extension DraftFolder.Origin: DatabaseValueConvertible {}
extension DraftFolder.State: DatabaseValueConvertible {}
