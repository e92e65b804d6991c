import Foundation
import Logging
import MediaCatalog
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
    /// The one task that runs the catalog's loops (`maintain()`); `close()` cancels and awaits it.
    private let maintenance = Mutex<Task<Void, Never>?>(nil)
    let state = Mutex(SharedState())
    let cache = EntryCache(lifetime: .seconds(5))
    let entryIDs = RowIDReserve(for: .entry)
    let materialIDs = RowIDReserve(for: .material)
    let draftFolderIDs = RowIDReserve(for: .draftFolder)
    let draftFileIDs = RowIDReserve(for: .draftFile)
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
                try await catalog.client.withOpenConnection { connection in
                    try await PostgresSchema.migrate(on: connection, schema: configuration.schema, logger: logger)
                    try await catalog.checkFleetSettings(on: connection)
                    try await catalog.beginSession(on: connection)
                }
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
    private func checkFleetSettings(on connection: PostgresConnection) async throws {
        let asked = configuration.mediaLifetimeSeconds
        let rows = try await connection.query(
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
        let loops = maintenance.withLock { task in
            defer { task = nil }
            return task
        }
        loops?.cancel()
        changeSink.finish()
        wake.finish()
        // Each loop ends at its next suspension once cancelled: every call it makes is bounded.
        await loops?.value
        if sessionID != 0 {
            _ = try? await withDeadline(.seconds(5), "ending the session") { try await self.endSession() }
        }
        pool.shutdown()
    }

    private func startMaintenance() {
        let loops = Task { await self.maintain() }
        maintenance.withLock { $0 = loops }
    }

    /// The catalog's own work while it is open, each loop a child of one group: the session's
    /// heartbeat, the change feed (LISTEN, and the change log read when woken and on a tick),
    /// and the probe while the server is away.
    private func maintain() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.keepSessionAlive() }
            group.addTask { await self.listenForChanges() }
            group.addTask { await self.pollChanges(woken: self.wakes) }
            group.addTask { await self.tickChangePolls() }
            group.addTask { await self.probeWhileAway() }
        }
    }

    var sessionID: Int64 { state.withLock { $0.sessionID } }

    /// The database clock minus this host's, in nanoseconds: the mount's clock adds it, so
    /// expiry is judged by one clock for the fleet.
    public var clockOffsetNanoseconds: Int64 { state.withLock { $0.clockOffset } }

    /// The fleet's one access token, in this catalog's database.
    public var tokenStore: PostgresTokenStore {
        PostgresTokenStore(PooledClient { [pool] in pool.client }, logger: logger)
    }

    /// The fleet's upload pause after a 45009, in this catalog's database.
    public var uploadPause: PostgresUploadPause {
        PostgresUploadPause(PooledClient { [pool] in pool.client }, logger: logger)
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
}
