import Logging
import MediaCatalog
import PostgresNIO

/// The names of `/material/`, shared by the fleet in the `material` table. They are not in the
/// change feed and not cached: each read asks the database, and while it is away there is no
/// last view to answer from, so reads fail (EIO) as writes do.
extension PostgresCatalog: MaterialCatalog {
    static let materialColumns =
        "id, folder, name, state, media_id, url, content_hash, size, update_time, mode, uid, gid, access_time, modification_time, change_time"

    /// The columns of `materialColumns`, in order (decoded by position, as entries are).
    private typealias MaterialRow = (
        Int64, String, String, String, String?, String?, String?, Int64, Int64?, Int64, Int64, Int64, Int64, Int64,
        Int64
    )

    /// A row another host is writing or holds queued is not there for this one; its name is
    /// still held (the unique key), so an insert of it fails with `nameTaken`.
    static func materialVisible(to session: Int64) -> String {
        "(state NOT IN ('writing', 'queued') OR writer_session = \(session))"
    }

    public func materialEntry(id: Int64) async throws -> MaterialEntry? {
        let session = sessionID
        return try await reading("material \(id)", else: { nil }) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.materialColumns) FROM material
                WHERE id = \(id) AND \(unescaped: Self.materialVisible(to: session))
                """, logger: self.logger)
            return try await Self.materialEntries(rows).first
        }
    }

    public func materialEntry(in folder: MaterialFolder, named name: String) async throws -> MaterialEntry? {
        let session = sessionID
        return try await reading("material \(name)", else: { nil }) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.materialColumns) FROM material
                WHERE folder = \(folder.rawValue) AND name = \(name) AND \(unescaped: Self.materialVisible(to: session))
                """, logger: self.logger)
            return try await Self.materialEntries(rows).first
        }
    }

    public func materialEntries(in folder: MaterialFolder, afterID: Int64, limit: Int) async throws
        -> [MaterialEntry]
    {
        let session = sessionID
        return try await reading("material listing", else: { nil }) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.materialColumns) FROM material
                WHERE folder = \(folder.rawValue) AND id > \(afterID)
                AND \(unescaped: Self.materialVisible(to: session)) ORDER BY id LIMIT \(limit)
                """, logger: self.logger)
            return try await Self.materialEntries(rows)
        }
    }

    public func materialEntries(in folder: MaterialFolder, mediaID: String) async throws -> [MaterialEntry] {
        let session = sessionID
        return try await reading("material holding \(mediaID)", else: { nil }) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.materialColumns) FROM material
                WHERE folder = \(folder.rawValue) AND media_id = \(mediaID)
                AND \(unescaped: Self.materialVisible(to: session)) ORDER BY id
                """, logger: self.logger)
            return try await Self.materialEntries(rows)
        }
    }

    public func materialEntry(in folder: MaterialFolder, contentHash: String) async throws -> MaterialEntry? {
        try await reading("material by content", else: { nil }) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.materialColumns) FROM material
                WHERE folder = \(folder.rawValue) AND content_hash = \(contentHash) AND state = 'uploaded'
                ORDER BY id LIMIT 1
                """, logger: self.logger)
            return try await Self.materialEntries(rows).first
        }
    }

    public func insertMaterial(_ entry: MaterialEntry) async throws -> MaterialEntry {
        let writer: Int64? = entry.state == .writing || entry.state == .queued ? sessionID : nil
        let host: String? = writer == nil ? nil : configuration.hostKey
        let logger = self.logger
        let id = try await newID(from: materialIDs)
        let inserted = try await call("insert material \(entry.name)") { connection, mayHaveCommitted in
            // The id is this insert's alone: a row with it is this insert's, committed (run
            // again, the insert would find its own name taken).
            if mayHaveCommitted, try await Self.exists(id, in: .material, on: connection, logger: logger) {
                return true
            }
            let rows = try await connection.query(
                """
                INSERT INTO material (id, folder, name, state, media_id, url, content_hash, size, update_time, mode,
                    uid, gid, access_time, modification_time, change_time, writer_session, writer_host)
                VALUES (\(id), \(entry.folder.rawValue), \(entry.name), \(entry.state.rawValue), \(entry.mediaID),
                    \(entry.url), \(entry.contentHash), \(entry.size), \(entry.updateTime), \(Int64(entry.mode)),
                    \(Int64(entry.uid)), \(Int64(entry.gid)), \(entry.accessTime), \(entry.modificationTime),
                    \(entry.changeTime), \(writer), \(host))
                RETURNING id
                """, logger: logger)
            var inserted = false
            for try await value in rows.decode(Int64.self) { inserted = value == id }
            return inserted
        }
        guard inserted else { throw CatalogError.malformedRow("material insert returned no id") }
        var added = entry
        added.id = id
        return added
    }

    /// Writes everything but the folder and the name: only `renameMaterial` renames, so a host
    /// writing back a copy it read before another host's rename does not undo it.
    public func updateMaterial(_ entry: MaterialEntry) async throws {
        guard let id = entry.id else { throw CatalogError.entryGone }
        let session = sessionID
        let hostKey = configuration.hostKey
        let found = try await call("update material \(entry.name)") { connection in
            let rows = try await connection.query(
                """
                UPDATE material SET state = \(entry.state.rawValue), media_id = \(entry.mediaID), url = \(entry.url),
                    content_hash = \(entry.contentHash), size = \(entry.size), update_time = \(entry.updateTime),
                    mode = \(Int64(entry.mode)), uid = \(Int64(entry.uid)), gid = \(Int64(entry.gid)),
                    access_time = \(entry.accessTime), modification_time = \(entry.modificationTime),
                    change_time = \(entry.changeTime),
                    writer_session = CASE WHEN \(entry.state.rawValue) IN ('writing', 'queued') THEN \(session) END,
                    writer_host = CASE WHEN \(entry.state.rawValue) IN ('writing', 'queued') THEN \(hostKey) END
                WHERE id = \(id) RETURNING id
                """, logger: self.logger)
            var found = false
            for try await _ in rows.decode(Int64.self) { found = true }
            return found
        }
        guard found else { throw CatalogError.entryGone }
    }

    public func updateMaterialMetadata(_ entry: MaterialEntry) async throws {
        guard let id = entry.id else { throw CatalogError.entryGone }
        let found = try await call("update material \(entry.name)") { connection in
            let rows = try await connection.query(
                """
                UPDATE material SET mode = \(Int64(entry.mode)), uid = \(Int64(entry.uid)), gid = \(Int64(entry.gid)),
                    access_time = \(entry.accessTime), modification_time = \(entry.modificationTime),
                    change_time = \(entry.changeTime)
                WHERE id = \(id) RETURNING id
                """, logger: self.logger)
            var found = false
            for try await _ in rows.decode(Int64.self) { found = true }
            return found
        }
        guard found else { throw CatalogError.entryGone }
    }

    public func recordMaterialSize(id: Int64, size: Int64) async throws {
        try await call("size of material \(id)") { connection in
            try await connection.query(
                "UPDATE material SET size = \(size) WHERE id = \(id) AND size < 0", logger: self.logger
            ).drain()
        }
    }

    public func deleteMaterial(id: Int64) async throws {
        try await call("delete material \(id)") { connection in
            try await connection.query("DELETE FROM material WHERE id = \(id)", logger: self.logger).drain()
        }
    }

    public func renameMaterial(id: Int64, to name: String, replacing: Int64?) async throws {
        try await transaction("rename material to \(name)") { connection in
            if let replacing {
                // Only while it still holds the name in the renamed entry's folder: one another
                // host moved away meanwhile is not this rename's to delete.
                try await connection.query(
                    """
                    DELETE FROM material WHERE id = \(replacing) AND id <> \(id) AND name = \(name)
                    AND folder = (SELECT folder FROM material WHERE id = \(id))
                    """, logger: self.logger
                ).drain()
            }
            let rows = try await connection.query(
                "UPDATE material SET name = \(name) WHERE id = \(id) RETURNING id", logger: self.logger)
            var renamed = false
            for try await _ in rows.decode(Int64.self) { renamed = true }
            guard renamed else { throw CatalogError.notThere }
        }
    }

    /// Removes the rows being written by sessions that are gone, or by this host's earlier
    /// sessions (one mount per cache dir: they died). Another live host's rows stay.
    public func removeUnfinishedMaterial() async throws -> [MaterialEntry] {
        let session = sessionID
        let hostKey = configuration.hostKey
        // A transaction, not a lone DELETE: one that committed before its connection was lost
        // would, run again, return nothing, and the caller would keep the files it left.
        return try await transaction("removing unfinished material") { connection in
            let rows = try await connection.query(
                """
                DELETE FROM material WHERE state = 'writing' AND (writer_session IS NULL OR writer_session NOT IN
                    (SELECT id FROM host_session WHERE host_key <> \(hostKey) OR id = \(session)))
                RETURNING \(unescaped: Self.materialColumns)
                """, logger: self.logger)
            return try await Self.materialEntries(rows)
        }
    }

    public func adoptQueuedMaterial(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        let session = sessionID
        try await call("adopting queued material") { connection in
            try await connection.query(
                "UPDATE material SET writer_session = \(session) WHERE id = ANY(\(ids)) AND state = 'queued'",
                logger: self.logger
            ).drain()
        }
    }

    /// Deletes the material rows being written by sessions that no longer exist: what the reaper
    /// and a closing session do for entries, so a dead host's names are not held for good.
    func removeOrphanedMaterial(on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            DELETE FROM material WHERE state = 'writing'
            AND (writer_session IS NULL OR writer_session NOT IN (SELECT id FROM host_session))
            """, logger: logger
        ).drain()
    }

    /// Rows as values, every column checked: a folder, state or id no version writes is a
    /// malformed row, never a trap.
    static func materialEntries(_ rows: PostgresRowSequence) async throws -> [MaterialEntry] {
        var entries: [MaterialEntry] = []
        for try await row in rows.decode(MaterialRow.self) {
            let (
                id, folder, name, state, mediaID, url, contentHash, size, updateTime, mode, uid, gid, access, modified,
                changed
            ) = row
            guard let materialFolder = MaterialFolder(rawValue: folder),
                let materialState = MaterialEntry.State(rawValue: state)
            else {
                throw CatalogError.malformedRow("material in folder \(folder), state \(state)")
            }
            guard let fileMode = UInt32(exactly: mode), let owner = UInt32(exactly: uid),
                let group = UInt32(exactly: gid)
            else {
                throw CatalogError.malformedRow("material \(id) of mode \(mode), uid \(uid), gid \(gid)")
            }
            entries.append(
                MaterialEntry(
                    id: id, folder: materialFolder, name: name, state: materialState, mediaID: mediaID, url: url,
                    contentHash: contentHash, size: size, updateTime: updateTime, mode: fileMode, uid: owner,
                    gid: group, accessTime: access, modificationTime: modified, changeTime: changed))
        }
        return entries
    }
}
