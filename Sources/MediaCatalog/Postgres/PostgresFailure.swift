import PostgresNIO

/// A failed statement of the fleet's shared state, told readably: PSQLError describes itself
/// with one fixed sentence on purpose (its full form shows the query's binds, which may hold the
/// access token), so this keeps only what is safe to log: the kind, the SQLSTATE and the
/// server's message.
public struct PostgresFailure: Error, CustomStringConvertible {
    public let operation: String
    public let detail: String

    init(_ operation: String, _ error: any Error) {
        self.operation = operation
        if let error = error as? PSQLError {
            var parts = [error.code.description]
            if let state = error.serverInfo?[.sqlState] { parts.append("SQLSTATE \(state)") }
            if let message = error.serverInfo?[.message] { parts.append(message) }
            detail = parts.joined(separator: ", ")
        } else {
            detail = String(describing: error)
        }
    }

    public var description: String { "PostgreSQL: cannot \(operation): \(detail)" }

    /// Runs `body`, telling its failure as a `PostgresFailure` (a cancellation stays one).
    @discardableResult
    static func telling<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw PostgresFailure(operation, error)
        }
    }
}
