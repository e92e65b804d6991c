import Foundation
import Logging
import MediaCatalog
import PostgresNIO
import Synchronization
import WeChatMedia

/// Every call to PostgreSQL: bounded by the operation timeout, run again only where that is
/// safe, and its failures translated into what the filesystem answers.
extension PostgresCatalog {
    /// Runs `body` on a pooled connection within the operation timeout; records whether the
    /// server answered, for `status`. `conflict` is what a foreign-key refusal means to this
    /// call (a create's folder is gone; a removed folder is not empty).
    ///
    /// `body` runs on one pooled connection, open when it is handed over (`withOpenConnection`).
    /// It may run again, so it must be safe to: a pooled connection the server ended (a
    /// restart, `pg_terminate_backend`) fails its next use and a later try gets a fresh one, and
    /// a transaction the server aborted for a deadlock or a serialization conflict committed
    /// nothing and is run again, up to three times. Reads, transactions (a failure before their
    /// COMMIT committed nothing; a failure of the COMMIT itself is never run again) and
    /// statements that set values are safe as they are. A single statement that inserts or
    /// removes commits on its own and may have committed before the connection was lost: it
    /// uses `call(_:conflict:rerunnable:)` and checks its own effect first when run again.
    func call<T: Sendable>(
        _ what: String, conflict: CatalogError = .folderGone,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await call(what, conflict: conflict, rerunnable: { connection, _ in try await body(connection) })
    }

    /// As `call`, telling `body` whether an earlier run of it may have committed (it was sent
    /// and its connection was lost before the answer).
    func call<T: Sendable>(
        _ what: String, conflict: CatalogError = .folderGone,
        rerunnable body: @escaping @Sendable (PostgresConnection, _ mayHaveCommitted: Bool) async throws -> T
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
                        let ran = mayHaveCommitted
                        return try await self.client.withOpenConnection { connection in
                            try await body(connection, ran)
                        }
                    } catch  where Self.isLostConnection(error) && attempt < 3 {
                        // The next run checks whether this one committed; one more is allowed for
                        // a connection that dies just after it is handed over.
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

    /// Whether row `id` of `table` exists: how a rerun insert or removal learns whether its first
    /// run committed.
    static func exists(_ id: Int64, in table: IDTable, on connection: PostgresConnection, logger: Logger) async throws
        -> Bool
    {
        let rows = try await connection.query(
            "SELECT id FROM \(unescaped: table.rawValue) WHERE id = \(id)", logger: logger)
        var found = false
        for try await _ in rows.decode(Int64.self) { found = true }
        return found
    }

    /// A read: as `call`, but when the database turns out to be away, the last view's answer
    /// (`seen`) if it has one, rather than the failure.
    func reading<T: Sendable>(
        _ what: String, else seen: @escaping @Sendable () -> T?,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
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
        try await call(what, conflict: conflict) { connection in
            try await connection.withTransaction(logger: self.logger) { connection in try await body(connection) }
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
}
