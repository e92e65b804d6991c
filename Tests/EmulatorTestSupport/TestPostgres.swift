import Foundation
import Logging
import NIOPosix
import PostgresNIO

/// The throwaway PostgreSQL cluster that `mount-scripts/test.sh` starts (through
/// `mount-scripts/pg-cluster.sh`) for every test run, and a fresh database in it per test. A real
/// server, never a mock: a test that needs one fails, with the way to get one, when there is none.
public struct TestPostgres: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    /// The cluster's folder (`pg-cluster.sh start DIR`), for stopping and starting its server.
    public var directory: String?

    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "no PostgreSQL for the tests: run them through mount-scripts/test.sh, or start a cluster with "
                + "eval \"$(bash mount-scripts/pg-cluster.sh start DIR)\" (it exports WXMEDIAFS_TEST_PG_URL "
                + "and WXMEDIAFS_TEST_PG_PASSWORD)"
        }
    }

    /// The cluster named by `WXMEDIAFS_TEST_PG_URL` (postgresql://USER@HOST:PORT/DB) and
    /// `WXMEDIAFS_TEST_PG_PASSWORD`.
    public static func cluster() throws -> TestPostgres {
        let environment = ProcessInfo.processInfo.environment
        guard let text = environment["WXMEDIAFS_TEST_PG_URL"], let url = URLComponents(string: text),
            let host = url.host, let port = url.port, let user = url.user,
            let password = environment["WXMEDIAFS_TEST_PG_PASSWORD"]
        else { throw Missing() }
        return TestPostgres(
            host: host, port: port, user: user, password: password, directory: environment["WXMEDIAFS_TEST_PG_DIR"])
    }

    /// Stops the server, keeping its data (a catalog that goes away).
    public func stopServer() async throws { try await clusterScript("stop-server") }

    /// Starts the server stopped by `stopServer`, on the same port.
    public func startServer() async throws { try await clusterScript("start-server") }

    private func clusterScript(_ command: String) async throws {
        guard let directory else { throw Missing() }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("mount-scripts/pg-cluster.sh").path
        let result = try await Command.run("/bin/bash", [script, command, directory])
        guard result.status == 0 else {
            throw FixtureError("pg-cluster.sh \(command) failed: \(result.stderr)")
        }
    }

    /// A database of its own for one test (dropped by `drop`, and with the cluster at the end).
    public func makeDatabase() async throws -> TestDatabase {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await administer(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        return TestDatabase(server: self, name: String(name))
    }

    /// Runs one statement on the cluster's own `wxmediafs` database.
    public func administer(_ query: PostgresQuery, database: String = "wxmediafs") async throws {
        _ = try await firstValue(of: query, database: database)
    }

    /// Runs one statement and returns the first column of its first row, as an integer.
    public func firstValue(of query: PostgresQuery, database: String) async throws -> Int64? {
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(
            configuration: configuration, id: 1, logger: Logger(label: "test-postgres"))
        do {
            let rows = try await connection.query(query, logger: Logger(label: "test-postgres"))
            var value: Int64?
            for try await row in rows {
                if value == nil { value = try? row.makeRandomAccess()[0].decode(Int64.self) }
            }
            try await connection.close()
            return value
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

/// One test's database in the throwaway cluster.
public struct TestDatabase: Sendable {
    public var server: TestPostgres
    public var name: String

    /// What `wxmediafs mount --catalog-url` takes (the password goes separately).
    public var url: String { url(port: nil) }

    /// The same, reached by `port` (a proxy's) instead of the cluster's own.
    public func url(port: Int?) -> String {
        "postgresql://\(server.user)@\(server.host):\(port ?? server.port)/\(name)"
    }
    public var password: String { server.password }

    /// Runs `sql` on this database as the cluster's test user.
    public func execute(_ sql: String) async throws {
        try await server.administer(PostgresQuery(unsafeSQL: sql), database: name)
    }

    /// The integer `sql` answers (its first row's first column).
    public func scalar(_ sql: String) async throws -> Int64? {
        try await server.firstValue(of: PostgresQuery(unsafeSQL: sql), database: name)
    }

    public func drop() async {
        try? await server.administer(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"))
    }
}
