import Logging
import MediaCatalog
import PostgresNIO
import WeChatMedia

/// The fleet's one access token, in one row of PostgreSQL, judged by the database's clock.
///
/// Its table lives in the connection's `search_path` (the catalog's schema of the app id), so
/// the catalog's migration runs `schema` once, and then:
///
///     let store = PostgresTokenStore(client: postgres, logger: logger)
///     let tokens = AppSecretTokenProvider(
///         appID: appID, secret: secret, connection: connection, logger: logger, store: store)
///     let client = WeChatMediaClient(connection: connection, tokens: tokens, rules: rules, logger: logger,
///         uploadPause: UploadPausePolicy(shared: PostgresUploadPause(client: postgres, logger: logger)))
///
/// `postgres` is a running `PostgresClient` (its `run()` in a task of its own).
public struct PostgresTokenStore: SharedTokenStore {
    /// Idempotent DDL, for the catalog's migration.
    public static let schema: [String] = [
        """
        CREATE TABLE IF NOT EXISTS access_token (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            value text NOT NULL CHECK (value <> '' AND length(value) <= 512),
            fetched_at timestamptz NOT NULL,
            refresh_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL
        )
        """
    ]

    private let pooled: PooledClient
    private var client: PostgresClient { pooled.client }
    private let logger: Logger

    public init(client: PostgresClient, logger: Logger) { self.init(PooledClient { client }, logger: logger) }

    init(_ pooled: PooledClient, logger: Logger) { (self.pooled, self.logger) = (pooled, logger) }

    public func load() async throws -> TokenRecord? {
        try await PostgresFailure.telling("read the access token") {
            try await client.withOpenConnection { connection in
                try await Self.record(in: connection.query(Self.selectToken, logger: logger))
            }
        }
    }

    public func withTokenLock(
        waitingUntil deadline: ContinuousClock.Instant, holdLimit: Duration,
        _ body: @Sendable (_ stored: TokenRecord?) async throws -> TokenRecord
    ) async throws -> TokenRecord {
        let wait = PostgresSeconds.timeoutMilliseconds(ContinuousClock.now.duration(to: deadline))
        let hold = PostgresSeconds.timeoutMilliseconds(holdLimit)
        let logger = self.logger
        do {
            return try await client.withOpenConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    // Local to this transaction: the pooled connection goes back with its own settings.
                    // A host that stalls holding the lock loses its session, and so the lock.
                    try await PostgresFailure.telling("set the token lock's timeouts") {
                        try await connection.query(
                            """
                            SELECT set_config('lock_timeout', \(String(wait)), true),
                                set_config('idle_in_transaction_session_timeout', \(String(hold)), true)
                            """, logger: logger
                        ).drain()
                    }
                    try await PostgresFailure.telling("take the token lock") {
                        try await connection.query(Self.takeLock, logger: logger).drain()
                    }
                    let stored = try await PostgresFailure.telling("read the access token") {
                        try await Self.record(in: connection.query(Self.selectToken, logger: logger))
                    }
                    let chosen = try await body(stored)
                    if chosen != stored {
                        try await PostgresFailure.telling("store the access token") {
                            try await connection.query(Self.upsert(chosen), logger: logger).drain()
                        }
                    }
                    return chosen
                }
            }
        } catch let error as PostgresTransactionError {
            // The body's own failure (a refused fetch) goes on as it was thrown.
            if let failure = error.closureError { throw failure }
            throw PostgresFailure("hold the token lock", error.beginError ?? error.commitError ?? error)
        }
    }

    public func remove(ifValue value: String) async throws {
        try await PostgresFailure.telling("remove the refused access token") {
            try await client.withOpenConnection { connection in
                try await connection.query("DELETE FROM access_token WHERE value = \(value)", logger: logger).drain()
            }
        }
    }

    // MARK: Statements

    /// The fleet's lock on fetching, per schema (that is, per app id). The two-key form's keys
    /// never meet the one-key locks of the catalog (`hashtext('wxmediafs.migrate')`, `...sweep`).
    /// A NULL schema would make the call lock nothing, hence the coalesce.
    private static let takeLock: PostgresQuery = """
        SELECT pg_advisory_xact_lock(hashtext('wxmediafs.token'), hashtext(coalesce(current_schema(), '')))
        """

    /// Times as the database's clock sees them at the read: `clock_timestamp()`, not `now()`,
    /// which is the transaction's start, before the lock was waited for.
    private static let selectToken: PostgresQuery = """
        SELECT value,
            extract(epoch FROM refresh_at - clock_timestamp())::float8,
            extract(epoch FROM expires_at - clock_timestamp())::float8,
            extract(epoch FROM clock_timestamp() - fetched_at)::float8
        FROM access_token WHERE only_row
        """

    private static func upsert(_ record: TokenRecord) -> PostgresQuery {
        let age = PostgresSeconds.seconds(record.age)
        let refreshIn = PostgresSeconds.seconds(record.refreshIn)
        let expiresIn = PostgresSeconds.seconds(record.expiresIn)
        return """
            INSERT INTO access_token (only_row, value, fetched_at, refresh_at, expires_at)
            VALUES (true, \(record.value), clock_timestamp() - make_interval(secs => \(age)),
                clock_timestamp() + make_interval(secs => \(refreshIn)),
                clock_timestamp() + make_interval(secs => \(expiresIn)))
            ON CONFLICT (only_row) DO UPDATE SET value = EXCLUDED.value, fetched_at = EXCLUDED.fetched_at,
                refresh_at = EXCLUDED.refresh_at, expires_at = EXCLUDED.expires_at
            """
    }

    private static func record(in rows: PostgresRowSequence) async throws -> TokenRecord? {
        var found: TokenRecord?
        for try await (value, refreshIn, expiresIn, age) in rows.decode((String, Double, Double, Double).self) {
            found = TokenRecord(
                value: value, refreshIn: PostgresSeconds.duration(refreshIn),
                expiresIn: PostgresSeconds.duration(expiresIn), age: PostgresSeconds.duration(age))
        }
        return found
    }
}
