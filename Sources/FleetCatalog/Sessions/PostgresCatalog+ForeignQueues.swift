import MediaCatalog
import PostgresNIO

/// Files a host closed in background mode wait in its own cache dir, their rows `queued` and
/// hidden from the other hosts. A host that dies with files queued keeps their names (and
/// their folders non-empty) for the fleet: once its session is gone they are listed on every
/// host, saying whose they are, and only an operator gives them up (`releaseQueue`), since the
/// host may come back and upload them. Material queued there holds its names the same way, hidden
/// (a material row has no listing of its own to show it in) but counted and released with them.
extension PostgresCatalog {
    public func queueHolder(of entryID: Int64) async throws -> ForeignQueue? {
        let session = sessionID
        return try await call("queue holder") { connection in
            let rows = try await connection.query(
                """
                SELECT COALESCE(writer_host, 'session ' || writer_session::text),
                    EXISTS (SELECT 1 FROM host_session WHERE host_session.id = entry.writer_session)
                FROM entry WHERE id = \(entryID) AND state = 'queued' AND writer_session IS DISTINCT FROM \(session)
                """, logger: self.logger)
            for try await (host, running) in rows.decode((String, Bool).self) {
                return Optional(ForeignQueue(host: host, running: running, files: 1))
            }
            return nil
        }
    }

    public func foreignQueues() async throws -> [ForeignQueue] {
        try await call("stopped hosts' queues") { connection in
            let rows = try await connection.query(
                """
                SELECT host, sum(files)::bigint FROM (
                    SELECT COALESCE(writer_host, 'session ' || writer_session::text) AS host, count(*) AS files
                    FROM entry WHERE state = 'queued'
                        AND NOT EXISTS (SELECT 1 FROM host_session WHERE host_session.id = entry.writer_session)
                    GROUP BY 1
                    UNION ALL
                    SELECT COALESCE(writer_host, 'session ' || writer_session::text), count(*)
                    FROM material WHERE state = 'queued'
                        AND NOT EXISTS (SELECT 1 FROM host_session WHERE host_session.id = material.writer_session)
                    GROUP BY 1
                ) AS queued GROUP BY host ORDER BY host
                """, logger: self.logger)
            var queues: [ForeignQueue] = []
            for try await (host, files) in rows.decode((String, Int64).self) {
                queues.append(ForeignQueue(host: host, running: false, files: Int(clamping: files)))
            }
            return queues
        }
    }

    public func releaseQueue(ofHost host: String) async throws -> Int {
        cache.clear()
        defer { cache.clear() }
        return try await transaction("releasing \(host)'s queue") { connection in
            let live = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM host_session WHERE host_key = \(host))", logger: self.logger)
            for try await running in live.decode(Bool.self) where running { throw CatalogError.hostRunning(host) }
            let released = try await self.delete(
                where: """
                    state = 'queued' AND COALESCE(writer_host, 'session ' || writer_session::text) = \(Self.literal(host))
                    AND NOT EXISTS (SELECT 1 FROM host_session WHERE host_session.id = entry.writer_session)
                    """, on: connection)
            // Material queued there goes too: never added, its names are given up the same way.
            let material = try await connection.query(
                """
                DELETE FROM material WHERE state = 'queued'
                    AND COALESCE(writer_host, 'session ' || writer_session::text) = \(host)
                    AND NOT EXISTS (SELECT 1 FROM host_session WHERE host_session.id = material.writer_session)
                RETURNING id
                """, logger: self.logger)
            var releasedMaterial = 0
            for try await _ in material.decode(Int64.self) { releasedMaterial += 1 }
            guard !released.isEmpty || releasedMaterial > 0 else { throw CatalogError.noSuchQueue(host) }
            try await self.recordChanges(released.map(Self.removal), on: connection)
            return released.count + releasedMaterial
        }
    }

    /// `text` as an SQL string literal, for the few conditions written as text.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
