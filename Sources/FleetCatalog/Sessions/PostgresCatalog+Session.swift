import Foundation
import MediaCatalog
import PostgresNIO

/// Each mount holds a row in `host_session` and beats on it; a session that stops beating is
/// dead, and the entries it was writing go. The heartbeat also reads the database's clock.
extension PostgresCatalog {
    /// How often a host beats.
    static let heartbeatInterval = Duration.seconds(5)
    /// How long a silent session lives: a host that died is reaped within this and one beat.
    static let sessionLifetimeSeconds = 40
    /// How long the change log keeps a change: a host away longer relies on its kernel timeouts.
    static let changeLogMinutes = 10

    /// Opens this host's session; the first one also starts the change feed at the newest
    /// change (a later one, after the fleet reaped this host, goes on from where it was, so
    /// nothing committed meanwhile is missed).
    func beginSession(on connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            "INSERT INTO host_session (host_key, pid) VALUES (\(configuration.hostKey), \(Int32(getpid()))) RETURNING id",
            logger: logger)
        var session: Int64 = 0
        for try await id in rows.decode(Int64.self) { session = id }
        if sessionID == 0 {
            let last = try await connection.query("SELECT last FROM change_counter", logger: logger)
            var seen: Int64 = 0
            for try await value in last.decode(Int64.self) { seen = value }
            state.withLock { $0.lastChange = seen }
        }
        state.withLock { $0.sessionID = session }
        try await measureClock(on: connection)
    }

    func endSession() async throws {
        let session = sessionID
        try await client.withOpenConnection { connection in
            try await connection.withTransaction(logger: self.logger) { connection in
                try await connection.query("DELETE FROM host_session WHERE id = \(session)", logger: self.logger)
                    .drain()
                _ = try await self.removeOrphanedWrites(on: connection)
                try await self.removeOrphanedMaterial(on: connection)
            }
        }
    }

    /// Beats, reaps dead sessions, and trims the change log, until cancelled.
    func keepSessionAlive() async {
        var beats = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.heartbeatInterval)
            guard !Task.isCancelled else { return }
            do {
                try await call("heartbeat") { connection in try await self.beat(on: connection) }
                beats += 1
                if beats % 2 == 0 {
                    let reaped = try await reapDeadSessions()
                    if !reaped.isEmpty {
                        logger.notice("reaped \(reaped.count) file(s) left half-written by a host that died")
                    }
                }
            } catch {
                // Said once by `call`, and in `status`; the next beat tries again.
            }
        }
    }

    /// Updates this session's heartbeat (a new session if the fleet reaped this one while the
    /// server was away) and the clock offset.
    private func beat(on connection: PostgresConnection) async throws {
        let session = sessionID
        let rows = try await connection.query(
            "UPDATE host_session SET heartbeat_at = now() WHERE id = \(session) RETURNING id", logger: logger)
        var alive = false
        for try await _ in rows.decode(Int64.self) { alive = true }
        if !alive {
            logger.warning("catalog session \(session) was reaped while the server was away: starting a new one")
            try await beginSession(on: connection)
        } else {
            try await measureClock(on: connection)
        }
    }

    /// The database's clock minus this host's, from one round trip (its midpoint).
    private func measureClock(on connection: PostgresConnection) async throws {
        let before = Self.wallClockNanoseconds()
        let rows = try await connection.query(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint", logger: logger)
        var microseconds: Int64 = 0
        for try await value in rows.decode(Int64.self) { microseconds = value }
        let after = Self.wallClockNanoseconds()
        let (database, overflow) = microseconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return }
        let local = before / 2 + after / 2
        state.withLock { $0.clockOffset = database.saturatingSubtract(local) }
    }

    static func wallClockNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Removes sessions silent for `sessionLifetimeSeconds` and what they were writing, entries
    /// and material. (The cache needs no word of it: rows being written are never cached.)
    func reapDeadSessions() async throws -> [CatalogEntry] {
        let lifetime = Self.sessionLifetimeSeconds
        let minutes = Self.changeLogMinutes
        return try await transaction("reaping") { connection in
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "DELETE FROM host_session WHERE heartbeat_at < now() - interval '\(lifetime) seconds'"),
                logger: self.logger
            ).drain()
            try await connection.query(
                PostgresQuery(unsafeSQL: "DELETE FROM change_log WHERE at < now() - interval '\(minutes) minutes'"),
                logger: self.logger
            ).drain()
            try await self.removeOrphanedMaterial(on: connection)
            return try await self.removeOrphanedWrites(on: connection)
        }
    }
}
