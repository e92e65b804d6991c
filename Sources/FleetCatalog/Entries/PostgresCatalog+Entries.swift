import Foundation
import Logging
import MediaCatalog
import PostgresNIO
import Synchronization
import WeChatMedia

/// The entry SQL: names, their media ids, their expiry and their extended attributes, as
/// `Catalog` asks for them.
extension PostgresCatalog {
    /// Rows being written, or queued for upload, by another host are not there for this one,
    /// until that host's session is gone: then its queued files are listed (unreadable), so
    /// the names they hold are seen and can be released (`releaseQueue`).
    static func visible(to session: Int64) -> String {
        """
        (state NOT IN ('writing', 'queued') OR writer_session = \(session)
        OR (state = 'queued' AND NOT EXISTS (SELECT 1 FROM host_session WHERE host_session.id = entry.writer_session)))
        """
    }

    /// Why the database is away, while it is: reads then come from the last view.
    var awayReason: String? { state.withLock { $0.problem } }

    public func entry(id: Int64) async throws -> CatalogEntry? {
        if let cached = cache.entry(id: id) { return cached }
        let session = sessionID
        let epoch = cache.epoch
        let found = try await reading("entry \(id)", else: { self.lastView.entry(id: id).map { .some($0) } }) {
            connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.entryColumns) FROM entry WHERE id = \(id) AND \(unescaped: Self.visible(to: session))",
                logger: self.logger)
            return try await Self.entries(rows).first
        }
        if let found {
            cache.store([found], readSince: epoch)
            lastView.keep([found])
        }
        return found
    }

    /// Names looked up one by one in a folder, this many within a second, make the next miss
    /// read the folder's first `prefetchLimit` entries in one query.
    static let prefetchAfterMisses = 8
    static let prefetchLimit = 10_000

    public func entry(in folder: CatalogFolder, named name: String) async throws -> CatalogEntry? {
        if let cached = cache.entry(in: folder, named: name) { return cached }
        // Before the folder read below, which the last view keeps under another page.
        if let reason = awayReason {
            guard let seen = lastView.entry(in: folder, named: name) else { throw CatalogError.unavailable(reason) }
            return seen
        }
        if cache.noteMiss(in: folder, threshold: Self.prefetchAfterMisses) {
            let epoch = cache.epoch
            let entries = try await children(of: folder, afterID: 0, limit: Self.prefetchLimit)
            if let found = entries.first(where: { $0.name == name }) { return found }
            // Not among them: known absent only if the folder was read whole, by this epoch.
            if entries.count < Self.prefetchLimit, cache.epoch == epoch { return nil }
        }
        let session = sessionID
        let epoch = cache.epoch
        let found = try await reading("entry \(name)", else: { self.lastView.entry(in: folder, named: name) }) {
            connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM entry
                WHERE type = \(folder.type.rawValue) AND parent_id = \(folder.parentID) AND name = \(name)
                AND \(unescaped: Self.visible(to: session))
                """, logger: self.logger)
            return try await Self.entries(rows).first
        }
        if let found {
            cache.store([found], readSince: epoch)
            lastView.keep([found])
        }
        return found
    }

    public func children(of folder: CatalogFolder, afterID: Int64, limit: Int) async throws -> [CatalogEntry] {
        let session = sessionID
        let epoch = cache.epoch
        let found = try await reading(
            "listing", else: { self.lastView.page(of: folder, afterID: afterID, limit: limit) }
        ) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.entryColumns) FROM entry
                WHERE type = \(folder.type.rawValue) AND parent_id = \(folder.parentID) AND id > \(afterID)
                AND \(unescaped: Self.visible(to: session)) ORDER BY id LIMIT \(limit)
                """, logger: self.logger)
            return try await Self.entries(rows)
        }
        cache.store(found, readSince: epoch)
        lastView.keep(page: found, of: folder, afterID: afterID, limit: limit)
        return found
    }

    public func hasChildren(_ folder: CatalogFolder, bornAfter cutoff: Int64) async throws -> Bool {
        // Counts what other hosts are writing too: a folder someone writes into is not empty.
        let plausible = ServerTime.plausibleRange
        return try await call("folder check") { connection in
            let rows = try await connection.query(
                """
                SELECT EXISTS (SELECT 1 FROM entry WHERE type = \(folder.type.rawValue) AND parent_id = \(folder.parentID)
                AND (created_at IS NULL OR (created_at > \(cutoff) AND created_at BETWEEN \(plausible.lowerBound)
                AND \(plausible.upperBound))))
                """, logger: self.logger)
            for try await exists in rows.decode(Bool.self) { return exists }
            return false
        }
    }

    public func update(_ entry: CatalogEntry) async throws {
        try await write(entry, recording: nil)
    }

    public func update(_ entry: CatalogEntry, recording media: KnownMedia) async throws {
        try await write(entry, recording: media)
    }

    public func updateMetadata(_ entry: CatalogEntry) async throws {
        try await write(entry, recording: nil, metadataOnly: true)
    }

    /// Writes everything but the location: only `move` moves an entry, so a host that changes a
    /// file's content or times cannot undo another host's rename with a stale copy. With
    /// `media`, records it too, in the same statement; with `metadataOnly`, writes only the
    /// mode, owner and times, so an upload committed meanwhile stays.
    private func write(_ entry: CatalogEntry, recording media: KnownMedia?, metadataOnly: Bool = false) async throws {
        guard let id = entry.id else { throw CatalogError.entryGone }
        let session = sessionID
        let hostKey = configuration.hostKey
        let channel = self.channel
        // Before and after: a read racing the write must not keep the old row.
        cache.invalidate(id: id)
        lastView.forget(id: id)
        defer { cache.invalidate(id: id) }
        let found = try await call("update \(entry.name)") { connection in
            let rows = try await connection.query(
                """
                WITH changed AS (
                    UPDATE entry SET
                        state = CASE WHEN \(metadataOnly) THEN state ELSE \(entry.state.rawValue) END,
                        media_id = CASE WHEN \(metadataOnly) THEN media_id ELSE \(entry.mediaID) END,
                        format = CASE WHEN \(metadataOnly) THEN format ELSE \(entry.format?.rawValue) END,
                        size = CASE WHEN \(metadataOnly) THEN size ELSE \(entry.size) END,
                        created_at = CASE WHEN \(metadataOnly) THEN created_at ELSE \(entry.createdAt) END,
                        mode = \(Int64(entry.mode)), uid = \(Int64(entry.uid)), gid = \(Int64(entry.gid)),
                        access_time = \(entry.accessTime), modification_time = \(entry.modificationTime),
                        change_time = \(entry.changeTime),
                        writer_session = CASE WHEN NOT \(metadataOnly) AND \(entry.state.rawValue) IN ('writing', 'queued')
                            THEN \(session) ELSE writer_session END,
                        writer_host = CASE WHEN NOT \(metadataOnly) AND \(entry.state.rawValue) IN ('writing', 'queued')
                            THEN \(hostKey) ELSE writer_host END
                    WHERE id = \(id) RETURNING id, type, parent_id, name),
                next AS (UPDATE change_counter SET last = last + 1 WHERE EXISTS (SELECT 1 FROM changed) RETURNING last),
                logged AS (
                    INSERT INTO change_log (id, session_id, entry_id, type, parent_id, name)
                    SELECT next.last, \(session), changed.id, changed.type, changed.parent_id, changed.name
                    FROM next, changed),
                recorded AS (
                    INSERT INTO known_media (media_id, type, size, content_type, created_at, first_seen)
                    SELECT \(media?.mediaID), \(media?.type?.rawValue), \(media?.size), \(media?.contentType),
                        \(media?.createdAt), \(media?.firstSeen) FROM changed WHERE \(media != nil)
                    ON CONFLICT (media_id) DO UPDATE SET type = excluded.type, size = excluded.size,
                        content_type = excluded.content_type, created_at = excluded.created_at,
                        first_seen = excluded.first_seen)
                SELECT changed.id FROM changed, (SELECT pg_notify(\(channel), '')) AS notified
                """, logger: self.logger)
            var found = false
            for try await _ in rows.decode(Int64.self) { found = true }
            return found
        }
        guard found else { throw CatalogError.entryGone }
    }

    public func removeUnfinishedWrites() async throws -> [CatalogEntry] {
        cache.clear()
        defer { cache.clear() }
        // A mount on this cache dir before this one is dead (one mount per cache dir): its
        // session goes now, not a heartbeat timeout later, and with it what it was writing.
        let session = sessionID
        let hostKey = configuration.hostKey
        return try await transaction("removing unfinished writes") { connection in
            try await connection.query(
                "DELETE FROM host_session WHERE host_key = \(hostKey) AND id <> \(session)", logger: self.logger
            ).drain()
            return try await self.removeOrphanedWrites(on: connection)
        }
    }

    /// Queued rows of this cache dir's earlier sessions (found in its upload queue) become this
    /// session's: visible to it again, and still hidden from other hosts until uploaded.
    public func adoptQueuedEntries(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        cache.clear()
        defer { cache.clear() }
        let session = sessionID
        try await call("adopting queued uploads") { connection in
            try await connection.query(
                "UPDATE entry SET writer_session = \(session) WHERE id = ANY(\(ids)) AND state = 'queued'",
                logger: self.logger
            ).drain()
        }
    }

    /// Deletes entries being written by sessions that no longer exist, returning them.
    func removeOrphanedWrites(on connection: PostgresConnection) async throws -> [CatalogEntry] {
        let removed = try await delete(
            where:
                "state = 'writing' AND (writer_session IS NULL OR writer_session NOT IN (SELECT id FROM host_session))",
            on: connection)
        try await recordChanges(removed.map(Self.removal), on: connection)
        return removed
    }

    /// Deletes the entries matching `condition` (SQL written here, never from input) and returns them.
    func delete(where condition: String, on connection: PostgresConnection) async throws -> [CatalogEntry] {
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: "DELETE FROM entry WHERE \(condition) RETURNING \(Self.entryColumns)"),
            logger: logger)
        return try await Self.entries(rows)
    }

    static func removal(_ entry: CatalogEntry) -> CatalogChange {
        CatalogChange(
            entryID: entry.id ?? 0, location: nil, previousLocation: .init(folder: entry.folder, name: entry.name))
    }

    // MARK: Expiry

    public func purgeExpired(
        bornAtOrBefore cutoff: Int64, plausible: ClosedRange<Int64>, forgetBefore: Int64, now: Int64
    ) async throws -> (entries: [CatalogEntry], mediaIDs: [String]) {
        // What it deletes has expired, which every reader checks: the cache is cleared after, as
        // housekeeping, not for correctness.
        defer { cache.clear() }
        // The caller's clock is the mount's, which follows the database's (each heartbeat
        // measures the offset): one clock judges expiry for the fleet. One host sweeps at a
        // time; the others skip, and learn what went from the change log.
        let schema = configuration.schema
        return try await transaction("expiry sweep") { connection in
            let locked = try await connection.query(
                "SELECT pg_try_advisory_xact_lock(hashtext('wxmediafs.sweep'), hashtext(\(schema)))",
                logger: self.logger)
            var mine = false
            for try await value in locked.decode(Bool.self) { mine = value }
            guard mine else { return ([], []) }
            let (low, high) = (plausible.lowerBound, plausible.upperBound)
            let entries = try await self.delete(
                where: "created_at <= \(cutoff) OR created_at < \(low) OR created_at > \(high)", on: connection)
            let born = "COALESCE(created_at, first_seen)"
            let ids = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE known_media SET purged_at = \(now)
                        WHERE (\(born) <= \(cutoff) OR \(born) NOT BETWEEN \(low) AND \(high)) AND purged_at IS NULL
                        RETURNING media_id
                        """), logger: self.logger)
            var mediaIDs: [String] = []
            for try await id in ids.decode(String.self) { mediaIDs.append(id) }
            try await connection.query(
                PostgresQuery(unsafeSQL: "DELETE FROM known_media WHERE \(born) <= \(forgetBefore)"),
                logger: self.logger
            ).drain()
            try await self.recordChanges(entries.map(Self.removal), on: connection)
            return (entries, Array(Set(mediaIDs + entries.compactMap(\.mediaID))))
        }
    }

    public func forgetMediaEverywhere(_ mediaID: String) async throws -> [CatalogEntry] {
        cache.clear()
        defer { cache.clear() }
        return try await transaction("forgetting \(mediaID)") { connection in
            let rows = try await connection.query(
                "DELETE FROM entry WHERE media_id = \(mediaID) RETURNING \(unescaped: Self.entryColumns)",
                logger: self.logger)
            let entries = try await Self.entries(rows)
            try await connection.query("DELETE FROM known_media WHERE media_id = \(mediaID)", logger: self.logger)
                .drain()
            try await self.recordChanges(entries.map(Self.removal), on: connection)
            return entries
        }
    }

    // MARK: Media ids

    public func knownMedia(_ mediaID: String) async throws -> KnownMedia? {
        try await call("media \(mediaID)") { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.mediaColumns) FROM known_media WHERE media_id = \(mediaID)",
                logger: self.logger)
            return try await Self.media(rows).first?.media
        }
    }

    public func record(_ media: KnownMedia) async throws {
        try await transaction("recording \(media.mediaID)") { connection in
            try await self.record(media, on: connection)
        }
    }

    private func record(_ media: KnownMedia, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO known_media (media_id, type, size, content_type, created_at, first_seen)
            VALUES (\(media.mediaID), \(media.type?.rawValue), \(media.size), \(media.contentType), \(media.createdAt),
                \(media.firstSeen))
            ON CONFLICT (media_id) DO UPDATE SET type = excluded.type, size = excluded.size,
                content_type = excluded.content_type, created_at = excluded.created_at, first_seen = excluded.first_seen
            """, logger: logger
        ).drain()
    }

    public func knownMediaIDs(of type: MediaType) async throws -> [String] {
        try await call("media of a type") { connection in
            let rows = try await connection.query(
                "SELECT media_id FROM known_media WHERE type = \(type.rawValue)", logger: self.logger)
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            return ids
        }
    }

    public func knownMedia(bornAfter: Int64, afterRowID: Int64, limit: Int) async throws -> [(
        rowID: Int64, media: KnownMedia
    )] {
        let found = try await call("media listing") { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.mediaColumns) FROM known_media
                WHERE row_id > \(afterRowID) AND COALESCE(created_at, first_seen) > \(bornAfter)
                ORDER BY row_id LIMIT \(limit)
                """, logger: self.logger)
            return try await Self.media(rows)
        }
        return found.map { (rowID: $0.rowID, media: $0.media) }
    }

    // MARK: Extended attributes

    public func xattrs(of entryID: Int64) async throws -> [String: [UInt8]] {
        try await call("xattrs") { connection in
            let rows = try await connection.query(
                "SELECT name, value FROM xattr WHERE entry_id = \(entryID)", logger: self.logger)
            var attributes: [String: [UInt8]] = [:]
            for try await (name, value) in rows.decode((String, ByteBuffer).self) {
                attributes[name] = Array(value.readableBytesView)
            }
            return attributes
        }
    }

    public func setXattr(of entryID: Int64, name: String, value: [UInt8]) async throws {
        try await transaction("setting \(name)") { connection in
            try await connection.query(
                """
                INSERT INTO xattr (entry_id, name, value) VALUES (\(entryID), \(name), \(ByteBuffer(bytes: value)))
                ON CONFLICT (entry_id, name) DO UPDATE SET value = excluded.value
                """, logger: self.logger
            ).drain()
            try await self.recordChanges(
                [CatalogChange(entryID: entryID, location: nil, previousLocation: nil)], on: connection)
        }
    }

    public func removeXattr(of entryID: Int64, name: String) async throws -> Bool {
        try await transaction("removing \(name)") { connection in
            let rows = try await connection.query(
                "DELETE FROM xattr WHERE entry_id = \(entryID) AND name = \(name) RETURNING 1", logger: self.logger)
            var removed = false
            for try await _ in rows.decode(Int32.self) { removed = true }
            if removed {
                try await self.recordChanges(
                    [CatalogChange(entryID: entryID, location: nil, previousLocation: nil)], on: connection)
            }
            return removed
        }
    }
}
