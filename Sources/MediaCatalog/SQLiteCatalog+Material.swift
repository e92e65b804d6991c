import GRDB

extension SQLiteCatalog: MaterialCatalog {
    public func materialEntry(id: Int64) async throws -> MaterialEntry? {
        try readingOneStatement { db in
            try MaterialEntry.fetchOne(db.cachedStatement(sql: "SELECT * FROM material WHERE id = ?"), arguments: [id])
        }
    }

    public func materialEntry(in folder: MaterialFolder, named name: String) async throws -> MaterialEntry? {
        try readingOneStatement { db in
            try MaterialEntry.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM material WHERE folder = ? AND name = ?"),
                arguments: [folder, name])
        }
    }

    public func materialEntries(in folder: MaterialFolder, afterID: Int64, limit: Int) async throws
        -> [MaterialEntry]
    {
        try reading { db in
            try MaterialEntry.filter(Column("folder") == folder && Column("id") > afterID)
                .order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    public func materialEntries(in folder: MaterialFolder, mediaID: String) async throws -> [MaterialEntry] {
        try reading { db in
            try MaterialEntry.filter(Column("folder") == folder && Column("mediaID") == mediaID)
                .order(Column("id")).fetchAll(db)
        }
    }

    public func materialEntry(in folder: MaterialFolder, contentHash: String) async throws -> MaterialEntry? {
        try reading { db in
            try MaterialEntry.filter(
                Column("folder") == folder && Column("contentHash") == contentHash
                    && Column("state") == MaterialEntry.State.uploaded
            )
            .order(Column("id")).fetchOne(db)
        }
    }

    public func insertMaterial(_ entry: MaterialEntry) async throws -> MaterialEntry {
        do {
            return try writing { db in
                var entry = entry
                try entry.insert(db)
                return entry
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw CatalogError.nameTaken
        }
    }

    /// Every column but the folder and the name: only a rename renames, so an upload that read
    /// the entry before a rename commits without undoing it.
    public func updateMaterial(_ entry: MaterialEntry) async throws {
        do {
            try writing { db in try entry.update(db, columns: Self.materialContentColumns) }
        } catch is RecordError {
            throw CatalogError.entryGone
        }
    }

    public func updateMaterialMetadata(_ entry: MaterialEntry) async throws {
        do {
            try writing { db in try entry.update(db, columns: Self.materialMetadataColumns) }
        } catch is RecordError {
            throw CatalogError.entryGone
        }
    }

    public func recordMaterialSize(id: Int64, size: Int64) async throws {
        try writing { db in
            try db.execute(sql: "UPDATE material SET size = ? WHERE id = ? AND size < 0", arguments: [size, id])
        }
    }

    private static let materialMetadataColumns = [
        "mode", "uid", "gid", "accessTime", "modificationTime", "changeTime",
    ]

    private static let materialContentColumns = [
        "state", "mediaID", "url", "contentHash", "size", "updateTime", "mode", "uid", "gid", "accessTime",
        "modificationTime", "changeTime",
    ]

    public func deleteMaterial(id: Int64) async throws {
        try writing { db in _ = try MaterialEntry.deleteOne(db, key: id) }
    }

    public func renameMaterial(id: Int64, to name: String, replacing: Int64?) async throws {
        do {
            try writing { db in
                if let replacing { _ = try MaterialEntry.deleteOne(db, key: replacing) }
                try db.execute(sql: "UPDATE material SET name = ? WHERE id = ?", arguments: [name, id])
                guard db.changesCount == 1 else { throw CatalogError.notThere }
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw CatalogError.nameTaken
        }
    }

    public func removeUnfinishedMaterial() async throws -> [MaterialEntry] {
        try writing { db in
            let unfinished = try MaterialEntry.filter(Column("state") == MaterialEntry.State.writing).fetchAll(db)
            _ = try MaterialEntry.filter(Column("state") == MaterialEntry.State.writing).deleteAll(db)
            return unfinished
        }
    }

    /// One host: its queued rows are its own already.
    public func adoptQueuedMaterial(_ ids: [Int64]) async throws {}
}
