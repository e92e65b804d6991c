import MediaCatalog
import PostgresNIO

extension PostgresRowSequence {
    /// Reads every row and drops them. A query's rows come as a stream, and a failure the server
    /// meets while running it (a lock wait cut by `lock_timeout`) is thrown only by reading that
    /// stream: a statement whose rows are not wanted must still be read to the end, or its
    /// failure would show up as the next statement's "transaction is aborted".
    func drain() async throws {
        for try await _ in self {}
    }
}
