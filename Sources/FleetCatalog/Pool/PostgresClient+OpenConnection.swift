import PostgresNIO

extension PostgresClient {
    /// Runs `body` on a pooled connection that is open when it is handed over.
    ///
    /// Once a connection is lost, the pool may hand it out again before it has learned of the
    /// close, and postgres-nio (1.33) writes a query to a connection whose channel is already
    /// torn down with no promise: that query is never answered, and a call waits out its whole
    /// timeout (a `cp` seen failing with EIO after 30 s). A closed connection is given back and
    /// another asked for; nothing was sent on it, so asking again is always safe. The caller's
    /// deadline bounds the asking, as it bounds the body.
    func withOpenConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        while true {
            do {
                return try await withConnection { connection in
                    guard !connection.isClosed else { throw ClosedConnectionLeased() }
                    return try await body(connection)
                }
            } catch is ClosedConnectionLeased {
                // The pool learns of the close on its own loop: give it a moment.
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }
}

/// The pool handed out a connection that had already closed.
private struct ClosedConnectionLeased: Error {}
