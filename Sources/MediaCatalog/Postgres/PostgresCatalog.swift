import Foundation
import Logging
import PostgresNIO
import Synchronization
import WeChatMedia

/// The catalog a fleet of hosts shares, in PostgreSQL: one tree and one set of names for every
/// host that mounts the account. Every change commits in one transaction with a row in the
/// change log; other hosts learn of it by `NOTIFY` at once, or by polling the log (a notice sent
/// while a host was disconnected is lost, the log is not). A file being written is visible only
/// to the host writing it. Each host holds a session with a heartbeat; what a dead host was
/// writing is reaped.
///
/// Every call ends within `operationTimeout`: with PostgreSQL away it throws
/// `CatalogError.unavailable` (EIO to the caller), and works again once the server is back.
public final class PostgresCatalog: Catalog {
    let configuration: PostgresCatalogConfiguration
    let pool: PostgresPool
    /// The pool's client of the moment (renewed after an outage): each call takes it once.
    var client: PostgresClient { pool.client }
    let logger: Logger
    private let maintenance = Mutex<[Task<Void, Never>]>([])
    let state = Mutex(SharedState())
    let cache = EntryCache(lifetime: .seconds(5))
    let idReserve = EntryIDReserve()
    /// What this host last read, answered from while the database is away.
    let lastView = LastView()
    let changeStream: AsyncStream<CatalogChange>
    let changeSink: AsyncStream<CatalogChange>.Continuation
    /// Wakes the change poller when a notice came.
    let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    struct SharedState {
        /// This host's row in `host_session`.
        var sessionID: Int64 = 0
        /// The last change this host has seen.
        var lastChange: Int64 = 0
        /// The database clock minus this host's, in nanoseconds (measured by each heartbeat).
        var clockOffset: Int64 = 0
        var problem: String?
        /// When the database was found away (wall clock, ns), while it is.
        var awaySince: Int64?
        /// The upload folders' own times, as last read.
        var topFolderTimes: [MediaType: FolderTimes] = [:]
        /// Set by `close`: what fails after it is no news.
        var closing = false
    }

    /// Connects, migrates the schema if this host is the first, opens a session, and starts the
    /// heartbeat, the reaper and the change feed. Fails within the operation timeout when the
    /// server does not answer.
    public static func open(_ configuration: PostgresCatalogConfiguration, logger: Logger) async throws
        -> PostgresCatalog
    {
        do {
            try await withDeadline(configuration.operationTimeout, "connecting") {
                let probe = try await PostgresConnection.connect(
                    configuration: try configuration.probeConfiguration(), id: 0, logger: logger)
                try await probe.close()
            }
        } catch {
            throw CatalogError.unavailable("\(configuration.displayURL): \(Self.describe(error))")
        }
        let catalog = PostgresCatalog(configuration: configuration, logger: logger)
        do {
            try await withDeadline(configuration.operationTimeout, "setting up the schema") {
                try await PostgresSchema.migrate(catalog.client, schema: configuration.schema, logger: logger)
                try await catalog.checkFleetSettings()
                try await catalog.beginSession()
            }
        } catch let error as CatalogError where error.isSettingConflict {
            await catalog.close()
            throw error
        } catch {
            await catalog.close()
            throw CatalogError.unavailable("\(configuration.displayURL): \(Self.describe(error))")
        }
        catalog.startMaintenance()
        return catalog
    }

    /// Records this mount's media TTL as the fleet's if it is the first, and refuses to mount
    /// with another: the sweep deletes rows for every host.
    private func checkFleetSettings() async throws {
        let asked = configuration.mediaLifetimeSeconds
        let rows = try await client.query(
            """
            WITH added AS (
                INSERT INTO fleet_setting (name, value) VALUES ('media_ttl_seconds', \(String(asked)))
                ON CONFLICT (name) DO NOTHING RETURNING value)
            SELECT value FROM added UNION ALL SELECT value FROM fleet_setting WHERE name = 'media_ttl_seconds'
            """, logger: logger)
        var values: [String] = []
        for try await value in rows.decode(String.self) { values.append(value) }
        guard let fleet = values.first.flatMap({ Int64($0) }) else {
            throw CatalogError.malformedRow("fleet setting media_ttl_seconds: \(values)")
        }
        guard fleet == asked else {
            throw CatalogError.settingConflict(
                "this fleet's media TTL is \(Self.describeSeconds(fleet)), set by its first host; this mount asked for "
                    + "\(Self.describeSeconds(asked)): mount with --media-ttl \(Self.describeSeconds(fleet)) (one host's "
                    + "sweep purges expired names for every host)")
        }
    }

    /// Seconds as the command line writes them: `3d`, `2h`, `20s`.
    static func describeSeconds(_ seconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60)] where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }

    private init(configuration: PostgresCatalogConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var clientConfiguration = configuration.clientConfiguration
        // Every pooled connection works in the account's schema.
        clientConfiguration.options.additionalStartupParameters.append(
            ("options", "-c search_path=\(configuration.schema)"))
        var clientLogger = logger
        clientLogger.logLevel = max(logger.logLevel, .error)
        self.pool = PostgresPool(configuration: clientConfiguration, logger: clientLogger)
        (changeStream, changeSink) = AsyncStream.makeStream(of: CatalogChange.self, bufferingPolicy: .unbounded)
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Ends the session (its unfinished writes go with it) and the connections.
    public func close() async {
        state.withLock { $0.closing = true }
        maintenance.withLock { tasks in
            tasks.forEach { $0.cancel() }
            tasks = []
        }
        changeSink.finish()
        wake.finish()
        if sessionID != 0 {
            _ = try? await withDeadline(.seconds(5), "ending the session") { try await self.endSession() }
        }
        pool.shutdown()
    }

    private func startMaintenance() {
        let tasks = [
            Task { await self.keepSessionAlive() },
            Task { await self.listenForChanges() },
            Task { await self.pollChanges(woken: self.wakes) },
            Task { await self.probeWhileAway() },
        ]
        maintenance.withLock { $0 = tasks }
    }

    var sessionID: Int64 { state.withLock { $0.sessionID } }

    /// The database clock minus this host's, in nanoseconds: the mount's clock adds it, so
    /// expiry is judged by one clock for the fleet.
    public var clockOffsetNanoseconds: Int64 { state.withLock { $0.clockOffset } }

    /// The fleet's one access token, in this catalog's database.
    public var tokenStore: PostgresTokenStore {
        PostgresTokenStore(clientSource: { [pool] in pool.client }, logger: logger)
    }

    /// The fleet's upload pause after a 45009, in this catalog's database.
    public var uploadPause: PostgresUploadPause {
        PostgresUploadPause(clientSource: { [pool] in pool.client }, logger: logger)
    }

    // MARK: Sharing

    public var isShared: Bool { true }

    public func foreignChanges() -> AsyncStream<CatalogChange>? { changeStream }

    public func health() async -> CatalogHealth {
        let (problem, since) = state.withLock { ($0.problem, $0.awaySince) }
        var health = CatalogHealth(location: configuration.displayURL, reachable: problem == nil, problem: problem)
        health.unreachableSince = since
        return health
    }

    // MARK: Calls, bounded

    /// Runs `body` on a pooled connection within the operation timeout; records whether the
    /// server answered, for `status`. `conflict` is what a foreign-key refusal means to this
    /// call (a create's folder is gone; a removed folder is not empty).
    ///
    /// `body` may run again, so it must be safe to: a pooled connection the server ended (a
    /// restart, `pg_terminate_backend`) fails its next use and a later try gets a fresh one, and
    /// a transaction the server aborted for a deadlock or a serialization conflict committed
    /// nothing and is run again, up to three times. Reads, transactions (a failure before their
    /// COMMIT committed nothing; a failure of the COMMIT itself is never run again) and
    /// statements that set values are safe as they are. A single statement that inserts or
    /// removes commits on its own and may have committed before the connection was lost: it
    /// uses `call(_:conflict:rerunnable:)` and checks its own effect first when run again.
    func call<T: Sendable>(
        _ what: String, conflict: CatalogError = .folderGone,
        _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        try await call(what, conflict: conflict, rerunnable: { client, _ in try await body(client) })
    }

    /// As `call`, telling `body` whether an earlier run of it may have committed (it was sent
    /// and its connection was lost before the answer).
    func call<T: Sendable>(
        _ what: String, conflict: CatalogError = .folderGone,
        rerunnable body: @escaping @Sendable (PostgresClient, _ mayHaveCommitted: Bool) async throws -> T
    ) async throws -> T {
        // Once the database is known to be away, calls fail at once (reads are answered from
        // the last view before they get here) until the probe gets through again.
        if let reason = state.withLock({ $0.problem }) {
            throw CatalogError.unavailable("\(reason) (since then every call fails at once until it answers)")
        }
        do {
            let result = try await withDeadline(configuration.operationTimeout, what) {
                var attempt = 1
                var mayHaveCommitted = false
                while true {
                    do {
                        return try await body(self.client, mayHaveCommitted)
                    } catch  where Self.isLostConnection(error) && attempt < 3 {
                        // The pool may hand the dying connection out once more before it notices
                        // the close: a third run gets a fresh one.
                        mayHaveCommitted = true
                    } catch  where Self.isConflictAbort(error) && attempt < 3 {
                    }
                    attempt += 1
                }
            }
            noteReachable()
            return result
        } catch  where Task.isCancelled {
            // The caller went away (an interrupted system call): no news of the server.
            throw CatalogError.unavailable("cancelled")
        } catch let error as CatalogError {
            if case .unavailable(let reason) = error { noteUnreachable(reason) }
            throw error
        } catch {
            throw translate(error, conflict: conflict)
        }
    }

    /// Whether entry `id` exists: how a rerun insert or removal learns whether its first run
    /// committed.
    static func exists(_ id: Int64, on client: PostgresClient, logger: Logger) async throws -> Bool {
        let rows = try await client.query("SELECT id FROM entry WHERE id = \(id)", logger: logger)
        var found = false
        for try await _ in rows.decode(Int64.self) { found = true }
        return found
    }

    /// A read: as `call`, but when the database turns out to be away, the last view's answer
    /// (`seen`) if it has one, rather than the failure.
    func reading<T: Sendable>(
        _ what: String, else seen: @escaping @Sendable () -> T?,
        _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        do {
            return try await call(what, body)
        } catch CatalogError.unavailable(let reason) {
            guard let answer = seen() else { throw CatalogError.unavailable(reason) }
            return answer
        }
    }

    /// Runs `body` in one transaction within the operation timeout.
    func transaction<T: Sendable>(
        _ what: String, conflict: CatalogError = .folderGone,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await call(what, conflict: conflict) { client in
            try await client.withTransaction(logger: self.logger) { connection in try await body(connection) }
        }
    }

    private func noteReachable() {
        let was = state.withLock { state in
            defer {
                state.problem = nil
                state.awaySince = nil
            }
            return state.problem
        }
        if let was { logger.notice("catalog \(configuration.displayURL) reachable again (was: \(was))") }
    }

    func noteUnreachable(_ reason: String) {
        let first = state.withLock { state in
            defer {
                if state.problem == nil { state.awaySince = Self.wallClockNanoseconds() }
                state.problem = reason
            }
            return state.problem == nil && !state.closing
        }
        if first {
            logger.error(
                "catalog \(configuration.displayURL) unreachable: \(reason); answering lookups, listings and cached reads from this host's last view, read-only, and failing writes at once until it answers"
            )
        }
    }

    /// While the database is away, tries a connection of its own every 250 ms (each bounded by
    /// a second); once one gets through, starts the pool afresh and calls work again.
    func probeWhileAway() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            guard state.withLock({ $0.problem != nil && !$0.closing }) else { continue }
            guard await probe(), !Task.isCancelled else { continue }
            pool.renew()
            noteReachable()
            wake.yield()
        }
    }

    /// Whether a connection of its own gets an answer from the server within a second.
    func probe() async -> Bool {
        let configuration = self.configuration
        let logger = self.logger
        return
            (try? await withDeadline(.seconds(1), "probing") { () async throws -> Bool in
                let probe = try await PostgresConnection.connect(
                    configuration: try configuration.probeConfiguration(), id: 1, logger: logger)
                do {
                    try await probe.query("SELECT 1", logger: logger).drain()
                    try? await probe.close()
                    return true
                } catch {
                    try? await probe.close()
                    throw error
                }
            }) == true
    }

    /// Whether `error` is a connection that went away before any commit was sent.
    static func isLostConnection(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            guard error.commitError == nil, let cause = error.closureError ?? error.beginError else { return false }
            return isLostConnection(cause)
        }
        guard let error = error as? PSQLError else { return false }
        if let state = error.serverInfo?[.sqlState] { return state.hasPrefix("57P") }
        return [.serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown].contains(
            error.code)
    }

    /// Whether the server aborted the transaction for a deadlock or a serialization conflict.
    static func isConflictAbort(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            guard let cause = error.closureError ?? error.beginError ?? error.commitError else { return false }
            return isConflictAbort(cause)
        }
        guard let state = (error as? PSQLError)?.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }

    /// What the server said, as the catalog's errors: a taken name, a missing folder (or one
    /// not empty: `conflict`), a full disk, or unreachable.
    func translate(_ error: any Error, conflict: CatalogError = .folderGone) -> any Error {
        if let error = error as? CatalogError { return error }
        if let error = error as? PostgresTransactionError,
            let cause = error.closureError ?? error.beginError ?? error.commitError
        {
            return translate(cause, conflict: conflict)
        }
        if state.withLock({ $0.closing }) { return CatalogError.unavailable("the catalog is closed") }
        if let error = error as? PSQLError, let code = error.serverInfo?[.sqlState] {
            switch code {
            case "23505": return CatalogError.nameTaken
            case "23503": return conflict
            case "53100": return CatalogError.diskFull
            default:
                let message = error.serverInfo?[.message] ?? ""
                logger.error("catalog statement failed: SQLSTATE \(code) \(message)")
                return CatalogError.unavailable("SQLSTATE \(code) \(message)")
            }
        }
        let reason = Self.describe(error)
        noteUnreachable(reason)
        return CatalogError.unavailable(reason)
    }

    /// A short reason for a failure, safe to log (`PostgresFailure.summary`), with the
    /// transaction's wrapping taken off and a word for a TLS mode the server cannot meet.
    static func describe(_ error: any Error) -> String {
        if case .unavailable(let reason) = error as? CatalogError { return reason }
        if let error = error as? PostgresTransactionError,
            let cause = error.closureError ?? error.beginError ?? error.commitError
        {
            return describe(cause)
        }
        if let error = error as? PSQLError, error.code == .sslUnsupported {
            return "the server offers no TLS, which --catalog-tls require and verify-full need"
        }
        return PostgresFailure.summary(of: error)
    }

    // MARK: Entries

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
            client in
            let rows = try await client.query(
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
            client in
            let rows = try await client.query(
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
        ) { client in
            let rows = try await client.query(
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
        return try await call("folder check") { client in
            let rows = try await client.query(
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

    /// Writes everything but the location: only `move` moves an entry, so a host that changes a
    /// file's content or times cannot undo another host's rename with a stale copy. With
    /// `media`, records it too, in the same statement.
    private func write(_ entry: CatalogEntry, recording media: KnownMedia?) async throws {
        guard let id = entry.id else { throw CatalogError.entryGone }
        let session = sessionID
        let hostKey = configuration.hostKey
        let channel = self.channel
        // Before and after: a read racing the write must not keep the old row.
        cache.invalidate(id: id)
        lastView.forget(id: id)
        defer { cache.invalidate(id: id) }
        let found = try await call("update \(entry.name)") { client in
            let rows = try await client.query(
                """
                WITH changed AS (
                    UPDATE entry SET state = \(entry.state.rawValue), media_id = \(entry.mediaID),
                        format = \(entry.format?.rawValue), size = \(entry.size), created_at = \(entry.createdAt),
                        mode = \(Int64(entry.mode)), uid = \(Int64(entry.uid)), gid = \(Int64(entry.gid)),
                        access_time = \(entry.accessTime), modification_time = \(entry.modificationTime),
                        change_time = \(entry.changeTime),
                        writer_session = CASE WHEN \(entry.state.rawValue) IN ('writing', 'queued') THEN \(session)
                            ELSE writer_session END,
                        writer_host = CASE WHEN \(entry.state.rawValue) IN ('writing', 'queued') THEN \(hostKey)
                            ELSE writer_host END
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
        try await call("adopting queued uploads") { client in
            try await client.query(
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
        try await call("media \(mediaID)") { client in
            let rows = try await client.query(
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
        try await call("media of a type") { client in
            let rows = try await client.query(
                "SELECT media_id FROM known_media WHERE type = \(type.rawValue)", logger: self.logger)
            var ids: [String] = []
            for try await id in rows.decode(String.self) { ids.append(id) }
            return ids
        }
    }

    public func knownMedia(bornAfter: Int64, afterRowID: Int64, limit: Int) async throws -> [(
        rowID: Int64, media: KnownMedia
    )] {
        let found = try await call("media listing") { client in
            let rows = try await client.query(
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
        try await call("xattrs") { client in
            let rows = try await client.query(
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
