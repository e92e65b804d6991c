import Logging
import MediaCatalog
import PostgresNIO
import WeChatMedia

/// The fleet's upload pause after a 45009, in one row of PostgreSQL, judged by the database's
/// clock. Setting it is one upsert that only ever lengthens the pause, so it needs no lock.
/// Its table lives in the connection's `search_path`; the catalog's migration runs `schema`.
/// See `PostgresTokenStore` for the wiring.
public struct PostgresUploadPause: SharedUploadPause {
    /// Idempotent DDL, for the catalog's migration.
    public static let schema: [String] = [
        """
        CREATE TABLE IF NOT EXISTS upload_pause (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            paused_until timestamptz NOT NULL
        )
        """
    ]

    private let pooled: PooledClient
    private var client: PostgresClient { pooled.client }
    private let logger: Logger

    public init(client: PostgresClient, logger: Logger) { self.init(PooledClient { client }, logger: logger) }

    init(_ pooled: PooledClient, logger: Logger) { (self.pooled, self.logger) = (pooled, logger) }

    public func remainingPause() async throws -> Duration? {
        try await PostgresFailure.telling("read the upload pause") {
            try await client.withOpenConnection { connection in
                let rows = try await connection.query(
                    """
                    SELECT extract(epoch FROM paused_until - clock_timestamp())::float8
                    FROM upload_pause WHERE only_row AND paused_until > clock_timestamp()
                    """, logger: logger)
                var remaining: Duration?
                for try await seconds in rows.decode(Double.self) { remaining = PostgresSeconds.duration(seconds) }
                return remaining
            }
        }
    }

    public func pauseUploads(for duration: Duration) async throws {
        let seconds = PostgresSeconds.seconds(duration)
        try await PostgresFailure.telling("pause uploads") {
            try await client.withOpenConnection { connection in
                try await connection.query(
                    """
                    INSERT INTO upload_pause (only_row, paused_until)
                    VALUES (true, clock_timestamp() + make_interval(secs => \(seconds)))
                    ON CONFLICT (only_row) DO UPDATE
                    SET paused_until = greatest(upload_pause.paused_until, EXCLUDED.paused_until)
                    """, logger: logger
                ).drain()
            }
        }
    }
}
