import Foundation
import MediaCatalog
import NIOSSL
import PostgresNIO

/// Where a fleet's catalog is: `postgresql://USER@HOST:PORT/DATABASE`, the password given apart
/// (a file or `PGPASSWORD`: a URL is shown by `ps`, so one holding a password is refused), and
/// whether to speak TLS.
public struct PostgresCatalogConfiguration: Sendable {
    /// libpq's `sslmode` values that make sense here.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, unverified (libpq's default).
        case prefer
        /// TLS or no connection, unverified.
        case require
        /// TLS with the server's certificate checked against the system's roots and its name.
        case verifyFull = "verify-full"
    }

    public struct Problem: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var password: String?
    public var tls: TLSMode
    /// Bounds every catalog call (the mount's `--request-timeout`): with PostgreSQL away, no call hangs.
    public var operationTimeout: Duration
    /// Who this host is in the session table (host name and cache dir): a remount on the same
    /// cache dir reaps what its dead predecessor left at once.
    public var hostKey: String
    /// The PostgreSQL schema holding this account's tables, one per app id.
    public var schema: String
    /// The media TTL this mount was given: the fleet's is the first host's, and a mount that
    /// asks for another is refused (one host's sweep would otherwise purge every host's rows).
    public var mediaLifetimeSeconds: Int64 = 3 * 86400

    /// Parses `url`; `password` comes from `--catalog-password-file` or `PGPASSWORD`.
    public init(
        url: String, password: String?, tls: TLSMode = .prefer, account: String, hostKey: String,
        operationTimeout: Duration = .seconds(30)
    ) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgresql" || components.scheme == "postgres"
        else {
            throw Problem(description: "--catalog-url must look like postgresql://USER@HOST:PORT/DATABASE")
        }
        guard components.password == nil else {
            throw Problem(
                description:
                    "--catalog-url must not hold a password (anyone can read it with ps): give --catalog-password-file or PGPASSWORD"
            )
        }
        guard let host = components.host, !host.isEmpty else {
            throw Problem(description: "--catalog-url names no host: postgresql://USER@HOST:PORT/DATABASE")
        }
        guard let user = components.user, !user.isEmpty else {
            throw Problem(description: "--catalog-url names no user: postgresql://USER@HOST:PORT/DATABASE")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw Problem(description: "--catalog-url names no database: postgresql://USER@HOST:PORT/DATABASE")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else {
            throw Problem(description: "--catalog-url: port \(port) is out of range")
        }
        self.host = host
        self.port = port
        self.user = user
        self.database = database
        self.password = password
        self.tls = tls
        self.operationTimeout = operationTimeout
        self.hostKey = hostKey
        self.schema = Self.schemaName(account: account)
    }

    /// `wxmediafs_` and the app id in lower case, anything but [a-z0-9_] as `_`: an identifier
    /// that needs no quoting, the same on every host of the account.
    static func schemaName(account: String) -> String {
        let safe = account.lowercased().unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        }
        return "wxmediafs_" + String(safe.prefix(40))
    }

    /// The URL without the password it never holds: safe to log and to show in `status`.
    public var displayURL: String { "postgresql://\(user)@\(host):\(port)/\(database)" }

    private var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if tls != .verifyFull { configuration.certificateVerification = .none }
        return configuration
    }

    /// One connection of the same kind as the pool's: the pool retries a refused login without
    /// end, a single connection says why it was refused.
    func probeConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration))
            case .require, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = .init(min(operationTimeout, .seconds(10)))
        return configuration
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tlsConfiguration = self.tlsConfiguration
        let tls: PostgresClient.Configuration.TLS =
            switch self.tls {
            case .disable: .disable
            case .prefer: .prefer(tlsConfiguration)
            case .require, .verifyFull: .require(tlsConfiguration)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.connectTimeout = min(operationTimeout, .seconds(10))
        configuration.options.additionalStartupParameters = [("application_name", "wxmediafs")]
        configuration.options.maximumConnections = 8
        configuration.options.minimumConnections = 1
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(15))
        return configuration
    }
}
