import MediaCatalog
import PostgresNIO
import WeChatMedia

/// Changes to the tree's structure (create, remove, rename), each atomic for the fleet: the
/// database enforces that every entry has its folder (a foreign key), every removal and rename
/// names the place it acts on and does nothing if the entry is no longer there, and folder
/// moves take one lock so two hosts cannot move two folders into each other. Each also sets
/// its folders' modification and change times, in the same transaction.
extension PostgresCatalog {
    // The hottest writes (a file's insert, its removal) are one statement each: the row, its
    // folder's times, its change-log entry and the notice in one implicit transaction, one
    // round trip instead of five (BEGIN, statement, log, notify, COMMIT).

    public func insert(_ entry: CatalogEntry) async throws -> CatalogEntry {
        let session = sessionID
        let pending = entry.state == .writing || entry.state == .queued
        let writer: Int64? = pending ? session : nil
        let host: String? = pending ? configuration.hostKey : nil
        let channel = self.channel
        let (parent, time) = (entry.parentID, entry.changeTime)
        cache.invalidate(
            id: parent == CatalogFolder.topLevel ? nil : parent, names: [.init(folder: entry.folder, name: entry.name)])
        defer { cache.invalidate(id: nil, names: [.init(folder: entry.folder, name: entry.name)]) }
        forgetTopFolderTimes(entry.folder)
        lastView.forget(
            CatalogChange(entryID: 0, location: .init(folder: entry.folder, name: entry.name), previousLocation: nil))
        let logger = self.logger
        let id = try await newID(from: entryIDs)
        let inserted = try await call("insert \(entry.name)", conflict: .folderGone) { connection, mayHaveCommitted in
            // The id is this insert's alone: a row with it is this insert's, committed.
            if mayHaveCommitted, try await Self.exists(id, in: .entry, on: connection, logger: logger) { return true }
            let rows = try await connection.query(
                """
                WITH added AS (
                    INSERT INTO entry (id, type, parent_id, name, state, media_id, format, size, created_at, mode, uid,
                        gid, access_time, modification_time, change_time, writer_session, writer_host)
                    VALUES (\(id), \(entry.type.rawValue), \(parent), \(entry.name), \(entry.state.rawValue),
                        \(entry.mediaID), \(entry.format?.rawValue), \(entry.size), \(entry.createdAt),
                        \(Int64(entry.mode)), \(Int64(entry.uid)), \(Int64(entry.gid)), \(entry.accessTime),
                        \(entry.modificationTime), \(time), \(writer), \(host))
                    RETURNING id, type, parent_id, name),
                touched AS (
                    UPDATE entry SET modification_time = \(time), change_time = \(time)
                    WHERE id = \(parent) AND id <> 0),
                top AS (
                    INSERT INTO folder_time (type, modification_time, change_time)
                    SELECT \(entry.type.rawValue), \(time), \(time) WHERE \(parent) = 0
                    ON CONFLICT (type) DO UPDATE SET modification_time = excluded.modification_time,
                        change_time = excluded.change_time),
                next AS (UPDATE change_counter SET last = last + 1 RETURNING last),
                logged AS (
                    INSERT INTO change_log (id, session_id, entry_id, type, parent_id, name)
                    SELECT next.last, \(session), added.id, added.type, added.parent_id, added.name FROM next, added)
                SELECT added.id FROM added, (SELECT pg_notify(\(channel), '')) AS notified
                """, logger: logger)
            var inserted = false
            for try await value in rows.decode(Int64.self) { inserted = value == id }
            return inserted
        }
        guard inserted else { throw CatalogError.malformedRow("insert returned no id") }
        var added = entry
        added.id = id
        return added
    }

    /// An id for a new row of `reserve`'s table, from this host's reserve, drawing a block from
    /// the table's sequence when it is empty: a read, safe to run again.
    func newID(from reserve: RowIDReserve) async throws -> Int64 {
        if let id = reserve.take() { return id }
        let logger = self.logger
        let table = reserve.table.rawValue
        let block = try await call("reserving \(table) ids") { connection in
            let rows = try await connection.query(
                """
                SELECT nextval(pg_get_serial_sequence(\(table), 'id'))
                FROM generate_series(1, \(RowIDReserve.blockSize))
                """, logger: logger)
            var block: [Int64] = []
            for try await id in rows.decode(Int64.self) where id > 0 { block.append(id) }
            return block
        }
        guard let id = block.first else { throw CatalogError.malformedRow("the \(table) sequence gave no id") }
        reserve.keep(Array(block.dropFirst()))
        return id
    }

    public func delete(id: Int64) async throws {
        let session = sessionID
        let channel = self.channel
        cache.invalidate(id: id)
        defer { cache.invalidate(id: id) }
        lastView.forget(id: id)
        try await call("delete \(id)") { connection in
            try await connection.query(
                """
                WITH gone AS (DELETE FROM entry WHERE id = \(id) AND id <> 0 RETURNING id, type, parent_id, name),
                next AS (UPDATE change_counter SET last = last + 1 WHERE EXISTS (SELECT 1 FROM gone) RETURNING last),
                logged AS (
                    INSERT INTO change_log (id, session_id, entry_id, old_type, old_parent_id, old_name)
                    SELECT next.last, \(session), gone.id, gone.type, gone.parent_id, gone.name FROM next, gone)
                SELECT gone.id FROM gone, (SELECT pg_notify(\(channel), '')) AS notified
                """, logger: self.logger
            ).drain()
        }
    }

    public func remove(id: Int64, at location: CatalogChange.Location, time: Int64) async throws {
        let session = sessionID
        let channel = self.channel
        let (type, parent, name) = (location.folder.type.rawValue, location.folder.parentID, location.name)
        cache.invalidate(id: id, names: [location])
        defer { cache.invalidate(id: id, names: [location]) }
        forgetTopFolderTimes(location.folder)
        if parent != CatalogFolder.topLevel { cache.invalidate(id: parent) }
        lastView.forget(CatalogChange(entryID: id, location: nil, previousLocation: location))
        let logger = self.logger
        let removed = try await call("remove \(name)", conflict: .notEmpty) { connection, mayHaveCommitted in
            let rows = try await connection.query(
                """
                WITH gone AS (
                    DELETE FROM entry WHERE id = \(id) AND type = \(type) AND parent_id = \(parent) AND name = \(name)
                    RETURNING id, type, parent_id, name),
                touched AS (
                    UPDATE entry SET modification_time = \(time), change_time = \(time)
                    WHERE id = \(parent) AND id <> 0 AND EXISTS (SELECT 1 FROM gone)),
                top AS (
                    INSERT INTO folder_time (type, modification_time, change_time)
                    SELECT \(type), \(time), \(time) FROM gone WHERE \(parent) = 0
                    ON CONFLICT (type) DO UPDATE SET modification_time = excluded.modification_time,
                        change_time = excluded.change_time),
                next AS (UPDATE change_counter SET last = last + 1 WHERE EXISTS (SELECT 1 FROM gone) RETURNING last),
                logged AS (
                    INSERT INTO change_log (id, session_id, entry_id, old_type, old_parent_id, old_name)
                    SELECT next.last, \(session), gone.id, gone.type, gone.parent_id, gone.name FROM next, gone)
                SELECT gone.id FROM gone, (SELECT pg_notify(\(channel), '')) AS notified
                """, logger: self.logger)
            var removed = false
            for try await _ in rows.decode(Int64.self) { removed = true }
            // A first run that committed before its connection was lost removed it.
            if !removed, mayHaveCommitted {
                return try await !Self.exists(id, in: .entry, on: connection, logger: logger)
            }
            return removed
        }
        guard removed else { throw CatalogError.notThere }
    }

    public func removeFolder(
        id: Int64, at location: CatalogChange.Location, expiredAtOrBefore cutoff: Int64, time: Int64
    ) async throws {
        let (type, parent, name) = (location.folder.type.rawValue, location.folder.parentID, location.name)
        let plausible = ServerTime.plausibleRange
        cache.clear()
        defer { cache.clear() }
        forgetTopFolderTimes(location.folder)
        lastView.forget(CatalogChange(entryID: id, location: nil, previousLocation: location))
        try await transaction("rmdir \(name)", conflict: .notEmpty) { connection in
            // Expired entries are hidden already: they go with their folder.
            let expired = try await self.delete(
                where: """
                    parent_id = \(id) AND id <> 0 AND created_at IS NOT NULL AND (created_at <= \(cutoff)
                    OR created_at < \(plausible.lowerBound) OR created_at > \(plausible.upperBound))
                    """, on: connection)
            // The foreign key refuses while anything, from any host, is in the folder.
            let gone = try await self.delete(
                where: "id = \(id) AND id <> 0 AND state = 'directory'", on: connection,
                at: (type, parent, name))
            guard let folder = gone.first else { throw CatalogError.notThere }
            try await self.touch(parent: parent, type: type, time: time, on: connection)
            try await self.recordChanges((expired + [folder]).map(Self.removal), on: connection)
        }
    }

    public func move(
        id: Int64, from source: CatalogChange.Location, to folder: CatalogFolder, name: String, replacing: Int64?,
        changeTime: Int64
    ) async throws {
        let schema = configuration.schema
        cache.clear()
        defer { cache.clear() }
        forgetTopFolderTimes(source.folder)
        forgetTopFolderTimes(folder)
        lastView.forget(
            CatalogChange(entryID: id, location: .init(folder: folder, name: name), previousLocation: source))
        if let replacing { lastView.forget(id: replacing) }
        try await transaction("rename to \(name)", conflict: .notEmpty) { connection in
            // Rows locked in id order (as JuiceFS does), so two renames never wait on each other
            // in a circle; a deadlock the server breaks anyway is retried by `call`.
            let involved = [id, source.folder.parentID, folder.parentID, replacing ?? 0].filter { $0 != 0 }
            let locked = try await connection.query(
                "SELECT id, state FROM entry WHERE id = ANY(\(involved)) ORDER BY id FOR NO KEY UPDATE",
                logger: self.logger)
            var isFolder = false
            for try await (lockedID, state) in locked.decode((Int64, String).self) where lockedID == id {
                isFolder = state == CatalogEntry.State.directory.rawValue
            }
            if isFolder {
                // One folder move at a time for the fleet, judged with the tree as it is now.
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext('wxmediafs.folder-move'), hashtext(\(schema)))",
                    logger: self.logger
                ).drain()
                guard try await !self.folder(folder.parentID, liesInside: id, on: connection) else {
                    throw CatalogError.wouldCycle
                }
            }
            var changes: [CatalogChange] = []
            if let replacing {
                changes += try await self.delete(
                    where: "id = \(replacing) AND id <> 0", on: connection,
                    at: (folder.type.rawValue, folder.parentID, name)
                ).map(Self.removal)
            }
            var moved = false
            do {
                let rows = try await connection.query(
                    """
                    UPDATE entry SET type = \(folder.type.rawValue), parent_id = \(folder.parentID), name = \(name),
                        change_time = \(changeTime)
                    WHERE id = \(id) AND type = \(source.folder.type.rawValue) AND parent_id = \(source.folder.parentID)
                        AND name = \(source.name)
                    RETURNING id
                    """, logger: self.logger)
                for try await _ in rows.decode(Int64.self) { moved = true }
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23503" {
                // The target folder went meanwhile (a replaced folder not empty is the
                // transaction's `conflict`).
                throw CatalogError.folderGone
            }
            guard moved else { throw CatalogError.notThere }
            try await self.touch(
                parent: source.folder.parentID, type: source.folder.type.rawValue, time: changeTime, on: connection)
            if folder != source.folder {
                try await self.touch(
                    parent: folder.parentID, type: folder.type.rawValue, time: changeTime, on: connection)
            }
            changes.append(
                CatalogChange(entryID: id, location: .init(folder: folder, name: name), previousLocation: source))
            try await self.recordChanges(changes, on: connection)
        }
    }

    /// Whether folder `candidate` is `ancestor` or lies inside it (walking up, at most 4096 levels).
    private func folder(_ candidate: Int64, liesInside ancestor: Int64, on connection: PostgresConnection)
        async throws -> Bool
    {
        let rows = try await connection.query(
            """
            WITH RECURSIVE up (id, parent_id, depth) AS (
                SELECT id, parent_id, 0 FROM entry WHERE id = \(candidate)
                UNION ALL
                SELECT entry.id, entry.parent_id, up.depth + 1 FROM entry JOIN up ON entry.id = up.parent_id
                WHERE up.id <> 0 AND up.depth < 4096)
            SELECT EXISTS (SELECT 1 FROM up WHERE id = \(ancestor))
            """, logger: logger)
        for try await inside in rows.decode(Bool.self) { return inside }
        return false
    }

    /// Sets a folder's modification and change times: a subfolder's row, or an upload folder's
    /// `folder_time` row.
    func touch(parent: Int64, type: String, time: Int64, on connection: PostgresConnection) async throws {
        if parent == CatalogFolder.topLevel {
            try await connection.query(
                """
                INSERT INTO folder_time (type, modification_time, change_time) VALUES (\(type), \(time), \(time))
                ON CONFLICT (type) DO UPDATE SET modification_time = excluded.modification_time,
                    change_time = excluded.change_time
                """, logger: logger
            ).drain()
        } else {
            try await connection.query(
                "UPDATE entry SET modification_time = \(time), change_time = \(time) WHERE id = \(parent)",
                logger: logger
            ).drain()
        }
    }

    /// Deletes the entry matching `condition` if it is still at `location`, returning it.
    private func delete(
        where condition: String, on connection: PostgresConnection, at location: (String, Int64, String)
    ) async throws -> [CatalogEntry] {
        let (type, parent, name) = location
        let rows = try await connection.query(
            """
            DELETE FROM entry WHERE \(unescaped: condition) AND type = \(type) AND parent_id = \(parent) AND name = \(name)
            RETURNING \(unescaped: Self.entryColumns)
            """, logger: logger)
        return try await Self.entries(rows)
    }

    public func topFolderTimes(_ type: MediaType) async throws -> FolderTimes? {
        if let known = state.withLock({ $0.topFolderTimes[type] }) { return known }
        // While the database is away an upload folder shows the times it had, or none.
        if awayReason != nil { return nil }
        let epoch = cache.epoch
        let found = try await call("folder times") { connection in
            let rows = try await connection.query(
                "SELECT modification_time, change_time FROM folder_time WHERE type = \(type.rawValue)",
                logger: self.logger)
            for try await (modified, changed) in rows.decode((Int64, Int64).self) {
                return Optional(FolderTimes(modification: modified, change: changed))
            }
            return nil
        }
        if let found, cache.epoch == epoch { state.withLock { $0.topFolderTimes[type] = found } }
        return found
    }

    /// Drops the remembered times of `folder`'s upload folder, if it is one.
    func forgetTopFolderTimes(_ folder: CatalogFolder) {
        guard folder.isTopLevel else { return }
        state.withLock { _ = $0.topFolderTimes.removeValue(forKey: folder.type) }
    }
}
