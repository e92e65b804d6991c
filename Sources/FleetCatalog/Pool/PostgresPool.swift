import Logging
import MediaCatalog
import PostgresNIO
import Synchronization

/// The catalog's connection pool, which can be started afresh. After an outage postgres-nio's
/// pool waits out its own backoff (100 ms growing by 1.25 per failed attempt, to a minute)
/// before it connects again, and fails every request at once while its circuit breaker is open:
/// a host would stay unusable for up to a minute after the server came back. Once a probe
/// connection has got through, the catalog renews the pool instead.
final class PostgresPool: Sendable {
    private struct Running {
        var client: PostgresClient
        /// The pool's own loop: it must run for the pool's life.
        var run: Task<Void, Never>
        var closed = false
    }

    private let configuration: PostgresClient.Configuration
    private let logger: Logger
    private let running: Mutex<Running>

    init(configuration: PostgresClient.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        running = Mutex(Running(client: client, run: Task { await client.run() }))
    }

    /// The client to use now: a call takes it once and keeps it for its length.
    var client: PostgresClient { running.withLock { $0.client } }

    /// Replaces the pool with a new one; the old one's connections close (calls still on them fail).
    func renew() {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let old = running.withLock { running -> Task<Void, Never>? in
            guard !running.closed else { return nil }
            defer { running = Running(client: client, run: Task { await client.run() }) }
            return running.run
        }
        old?.cancel()
    }

    /// Ends the pool for good: its calls fail from now on.
    func shutdown() {
        running.withLock { running in
            running.closed = true
            return running.run
        }.cancel()
    }
}
