import EmulatorTestSupport
import FleetCatalog
import Logging
import MediaCatalog
import PostgresNIO
import WeChatMedia

/// One host of a fleet, in process: a `PostgresClient` of its own on the test's database, the
/// token store and upload pause over it, and a provider and client of its own against the
/// fixture's emulator. Nothing is shared between two hosts but the database and the emulator.
struct FleetHost: Sendable {
    let postgres: PostgresClient
    let tokens: AppSecretTokenProvider
    let store: PostgresTokenStore
    let pause: PostgresUploadPause
    let client: WeChatMediaClient
    private let running: Task<Void, Never>

    /// Quick retries, so that a test of a failure does not wait long.
    static let retry = RetryPolicy(
        maxAttempts: 4, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(100), totalTime: .seconds(20))

    init(
        _ f: EmulatorFixture, database: PostgresClient.Configuration,
        endpoint: AppSecretTokenProvider.Endpoint = .stable, pauseLength: Duration = .seconds(60),
        retry: RetryPolicy = Self.retry, logger: Logger
    ) {
        postgres = PostgresClient(configuration: database, backgroundLogger: logger)
        running = Task { [postgres] in await postgres.run() }
        store = PostgresTokenStore(client: postgres, logger: logger)
        pause = PostgresUploadPause(client: postgres, logger: logger)
        let connection = APIConnection(baseURL: f.baseURL, httpClient: f.http)
        tokens = AppSecretTokenProvider(
            appID: EmulatorFixture.appID, secret: EmulatorFixture.secret, endpoint: endpoint, connection: connection,
            retry: retry, logger: logger, store: store)
        client = WeChatMediaClient(
            connection: connection, tokens: tokens, rules: MediaRules(profile: .seed), retry: retry, logger: logger,
            uploadPause: UploadPausePolicy(shared: pause, length: pauseLength))
    }

    func stop() async {
        running.cancel()
        await running.value
    }

    /// Some of a host's ordinary work: uploads of each small sample, then a HEAD of each.
    func work() async throws {
        let voice = try await client.upload(fileAt: Samples.path("hello.amr"), as: .voice)
        let image = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
        for id in [voice.mediaID, image.mediaID] {
            guard case .file = try await client.head(mediaID: id) else {
                throw FixtureError("HEAD of \(id) found no file")
            }
        }
    }
}

/// `count` hosts over a fresh database with the shared tables, run through `body`; the hosts are
/// stopped and the database dropped afterwards, also when `body` throws.
func withFleet<T>(
    _ f: EmulatorFixture, hosts count: Int, endpoint: AppSecretTokenProvider.Endpoint = .stable,
    pauseLength: Duration = .seconds(60), retry: RetryPolicy = FleetHost.retry, _ body: ([FleetHost]) async throws -> T
) async throws -> T {
    let database = try await TestPostgres.cluster().makeDatabase()
    var logger = Logger(label: "test.fleet")
    logger.logLevel = .warning
    let configuration = PostgresClient.Configuration(
        host: database.server.host, port: database.server.port, username: database.server.user,
        password: database.password, database: database.name, tls: .disable)
    let hosts = (0..<count).map { _ in
        FleetHost(
            f, database: configuration, endpoint: endpoint, pauseLength: pauseLength, retry: retry, logger: logger)
    }
    func cleanUp() async {
        for host in hosts { await host.stop() }
        await database.drop()
    }
    do {
        for statement in PostgresTokenStore.schema + PostgresUploadPause.schema {
            try await database.execute(statement)
        }
        let result = try await body(hosts)
        await cleanUp()
        return result
    } catch {
        await cleanUp()
        throw error
    }
}

/// Runs `work` on every host at once and waits for all of them.
func onEveryHost(_ hosts: [FleetHost], _ work: @escaping @Sendable (FleetHost) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for host in hosts { group.addTask { try await work(host) } }
        try await group.waitForAll()
    }
}
