import PostgresNIO

/// The pool's client of the moment, asked for on each call: a catalog renews its client after
/// an outage, and what keeps one of the fleet's rows (the token, the upload pause) follows it.
struct PooledClient: Sendable {
    private let current: @Sendable () -> PostgresClient

    init(_ current: @escaping @Sendable () -> PostgresClient) { self.current = current }

    var client: PostgresClient { current() }
}
