import MediaCatalog
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
        detail = Self.summary(of: error)
    }

    /// What is safe to say of `error`: for a PSQLError its kind, SQLSTATE and the server's
    /// message, or the connection's own error when the server said nothing.
    static func summary(of error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        var parts = [error.code.description]
        if let state = error.serverInfo?[.sqlState] { parts.append("SQLSTATE \(state)") }
        if let message = error.serverInfo?[.message] {
            parts.append(message)
        } else if let underlying = error.underlying {
            parts.append(String(describing: underlying))
        }
        return parts.joined(separator: ", ")
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
