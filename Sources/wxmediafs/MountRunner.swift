import AsyncHTTPClient
import FUSEKit
import FleetCatalog
import Foundation
import LocalByteStore
import Logging
import MediaCatalog
import Prometheus
import ServiceLifecycle
import WeChatEmulator
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// Runs a mount in this process until it is unmounted: opens the client, catalog and
/// filesystem, mounts, reports readiness on stdout, and on SIGINT/SIGTERM stops within the
/// shutdown budget. Everything it opens joins one service group as it is opened, and the
/// group's graceful shutdown is the one way everything is closed: after an unmount, after a
/// signal, or when a step of the set-up fails.
struct MountRunner {
    let command: MountCommand
    let mountpoint: String

    func run() async throws {
        let logger = try startLogging()
        let metricsRegistry = command.metricsAddress.map { _ in MetricsServer.bootstrap() }
        try prepareProcess()
        let services = ServiceGroup(configuration: Self.groupConfiguration(logger))
        do {
            try await open(into: services, metricsRegistry: metricsRegistry, logger: logger)
        } catch {
            // Whatever was opened is closed the usual way, at once.
            await services.triggerGracefulShutdown()
            try? await services.run()
            throw error
        }
        try await services.run()
    }

    /// Signals end the group gracefully; past the budget (a service that does not stop), it
    /// is cancelled. A second signal changes nothing: the first one's budget holds.
    static func groupConfiguration(_ logger: Logger) -> ServiceGroupConfiguration {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        var configuration = ServiceGroupConfiguration(
            services: [ServiceGroupConfiguration.ServiceConfiguration](), gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quiet)
        configuration.maximumGracefulShutdownDuration = ShutdownBudget.total
        return configuration
    }

    /// Opens each thing the mount needs and adds it to `services` as soon as it is open (so
    /// that it is closed, in the reverse order, whatever fails next); the mount comes last.
    private func open(
        into services: ServiceGroup, metricsRegistry: PrometheusCollectorRegistry?, logger: Logger
    ) async throws {
        func opened(_ what: String, close: @escaping @Sendable () async -> Void) async {
            await services.addServiceUnlessShutdown(OpenedResource(what, close: close))
        }
        let account = try await resolveAccount(logger: logger)
        if let emulator = account.emulator, let folder = account.emulatorDataDirectory {
            await opened("emulator") {
                await emulator.stop()
                try? FileManager.default.removeItem(atPath: folder)
            }
        }
        let cacheDirectory = command.cacheDir ?? Self.defaultCacheDirectory(appID: account.appID)
        try CacheDirectory.prepare(cacheDirectory)
        if command.emulator, command.cacheDir == nil {
            await opened("demo cache") { try? FileManager.default.removeItem(atPath: cacheDirectory) }
        }
        let (catalog, fleet) = try await openCatalog(cacheDirectory: cacheDirectory, account: account, logger: logger)
        await opened("catalog") { await catalog.close() }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        // An HTTP client must be shut down before it goes (it traps otherwise).
        await opened("http client") { try? await http.shutdown() }
        let singleUse = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: APIConnection.singleUse(httpConfiguration))
        await opened("single-use http client") { try? await singleUse.shutdown() }
        let client = makeClient(account, http: http, singleUse: singleUse, fleet: fleet, logger: logger)
        let quota = QuotaMonitor(source: client, interval: .seconds(command.quotaInterval.seconds))
        let fileSystem = try await openFileSystem(
            cacheDirectory: cacheDirectory, catalog: catalog, fleet: fleet, client: client, logger: logger)
        await services.addServiceUnlessShutdown(
            ServiceGroupConfiguration.ServiceConfiguration(
                service: ClosureService { await cancelWhenGracefulShutdown { await fileSystem.maintain() } },
                serviceName: "maintenance"))
        let metrics = try await MetricsServer.start(
            command.metricsAddress, registry: metricsRegistry, quota: quota, logger)
        if let metrics { await opened("metrics") { await metrics.stop() } }

        let startedAt = Date()
        let apiBase = account.apiBase
        if let status = await Self.bind(
            "status", at: cacheDirectory + "/status.sock", logger: logger,
            document: {
                var report = await fileSystem.status(mountpoint: mountpoint, apiBase: apiBase, startedAt: startedAt)
                (report.quota, report.metricsURL) = (await quota.latest(), metrics?.url)
                return (try? report.json()) ?? []
            })
        {
            await services.addServiceUnlessShutdown(status)
        }
        // `wxmediafs sync`: each connection waits until the upload queue settled, then gets what failed.
        if let sync = await Self.bind(
            "sync", at: cacheDirectory + "/sync.sock", logger: logger,
            document: { (try? WireFormat.encode(await fileSystem.syncQueuedUploads())) ?? [] })
        {
            await services.addServiceUnlessShutdown(sync)
        }

        let session = try FUSESession(
            fileSystem: fileSystem, mountpoint: mountpoint,
            options: ["fsname=wxmediafs", "subtype=wxmediafs", "default_permissions"] + command.options,
            kernelCache: fileSystem.kernelCache, logger: logger)
        let mount = FUSEMountService(
            session: session, fileSystem: fileSystem, mountpoint: mountpoint,
            queueDrainTimeout: .seconds(command.queueDrainTimeout.seconds),
            announcement:
                "wxmediafs: mounted \(mountpoint) (api \(apiBase), cache \(cacheDirectory), daemon pid \(getpid()))",
            cacheDirectory: cacheDirectory, systemd: SystemdNotifier(), logger: logger)
        // Its end (an unmount) ends the group; everything else is closed after it.
        await services.addServiceUnlessShutdown(
            ServiceGroupConfiguration.ServiceConfiguration(
                service: mount, successTerminationBehavior: .gracefullyShutdownGroup))
    }

    // MARK: Steps

    private func startLogging() throws -> Logger {
        if let path = command.logFile {
            let file = try RotatingLogFile(path: path, maxBytes: command.logFileMaxSize.bytes)
            LogSetup.bootstrap(level: command.logLevel, destination: .file(file))
        } else {
            LogSetup.bootstrap(level: command.logLevel)
        }
        return Logger(label: "wxmediafs")
    }

    private func prepareProcess() throws {
        signal(SIGPIPE, SIG_IGN)
        // Two malloc arenas, not glibc's 8 per core: each FUSE, NIO and task thread would keep its
        // own arena of freed write and upload buffers (measured with 1 MiB FUSE writes: 81-89 MiB
        // peak for 8 parallel 10 MiB uploads with the default, 71 MiB with two).
        _ = mallopt(-8 /* M_ARENA_MAX */, 2)
        // Everything the mount writes (catalog, cache, spool, log) is the user's alone.
        umask(0o077)
        try MountPoint.prepare(mountpoint)
    }

    /// Where the API is and who the mount is: the given account, or an emulator started here.
    private struct Account {
        var apiBase: String
        var appID: String?
        var secret: Secret?
        var emulator: RunningEmulator?
        var emulatorDataDirectory: String?
    }

    private func resolveAccount(logger: Logger) async throws -> Account {
        guard command.emulator else {
            if command.accessTokenFile != nil { return Account(apiBase: command.apiBase, appID: command.appid) }
            guard let secret = try SecretSource.load(file: command.secretFile) else {
                throw MountPoint.Problem(description: "no app secret: give --secret-file or set WXMEDIAFS_SECRET")
            }
            return Account(apiBase: command.apiBase, appID: command.appid, secret: secret)
        }
        let dataDirectory = try TemporaryFolder.make("emulator")
        let secret = Secret(UUID().uuidString)
        var emulatorLogger = logger
        emulatorLogger.logLevel = max(command.logLevel, .notice)
        logger.notice("starting an emulator in-process under the \(command.limits.rawValue) limits, as the mount's")
        let emulator = try await RunningEmulator.start(
            configuration: EmulatorConfiguration(
                host: "127.0.0.1", port: 0, dataDirectory: dataDirectory, appID: "wxdemo", secret: secret,
                limits: command.limits),
            logger: emulatorLogger)
        return Account(
            apiBase: emulator.baseURL, appID: "wxdemo", secret: secret, emulator: emulator,
            emulatorDataDirectory: dataDirectory)
    }

    /// The HTTP client's settings: a reply may take up to `--request-timeout` (the calls'
    /// deadlines bound it; a fixed read timeout would cut slower answers short).
    private var httpConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        let seconds = max(1, min(command.requestTimeout.seconds, MountCommand.requestTimeoutRange.upperBound))
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(seconds))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        return configuration
    }

    /// The API client; in a fleet its token and its quota pause are the fleet's, in the catalog.
    private func makeClient(
        _ account: Account, http: HTTPClient, singleUse: HTTPClient, fleet: PostgresCatalog?, logger: Logger
    ) -> WeChatMediaClient {
        let connection = APIConnection(baseURL: account.apiBase, httpClient: http, singleUseClient: singleUse)
        var retry = RetryPolicy.default
        retry.totalTime = .seconds(command.requestTimeout.seconds)
        let tokens: any AccessTokenProvider =
            if let file = command.accessTokenFile {
                TokenFileProvider(path: file)
            } else {
                AppSecretTokenProvider(
                    appID: account.appID ?? "", secret: account.secret ?? Secret(""),
                    endpoint: command.tokenEndpoint == .legacy ? .legacy : .stable, connection: connection,
                    retry: retry, logger: logger, store: fleet?.tokenStore)
            }
        return WeChatMediaClient(
            connection: connection, tokens: tokens, rules: MediaRules(profile: command.limits), retry: retry,
            logger: logger, uploadPause: fleet.map { UploadPausePolicy(shared: $0.uploadPause) })
    }

    /// SQLite under the cache dir, or with `--catalog-url` the fleet's PostgreSQL catalog, which
    /// is also the fleet's (its token store, upload pause and clock).
    private func openCatalog(cacheDirectory: String, account: Account, logger: Logger) async throws
        -> (any Catalog, fleet: PostgresCatalog?)
    {
        guard let url = command.catalogURL else {
            let catalog = try SQLiteCatalog(path: cacheDirectory + "/catalog.sqlite")
            chmod(cacheDirectory + "/catalog.sqlite", 0o600)
            return (catalog, nil)
        }
        var configuration = try PostgresCatalogConfiguration(
            url: url, password: try CatalogPassword.load(file: command.catalogPasswordFile),
            tls: command.catalogTLS.mode,
            account: account.appID ?? "token-file", hostKey: ProcessInfo.processInfo.hostName + ":" + cacheDirectory,
            operationTimeout: .seconds(command.requestTimeout.seconds))
        configuration.mediaLifetimeSeconds = command.mediaTTL.seconds
        do {
            let catalog = try await PostgresCatalog.open(configuration, logger: logger)
            logger.info("catalog \(configuration.displayURL), schema \(configuration.schema)")
            return (catalog, catalog)
        } catch CatalogError.unavailable(let reason) {
            throw MountPoint.Problem(description: "catalog \(reason)")
        } catch CatalogError.settingConflict(let reason) {
            throw MountPoint.Problem(description: "catalog \(configuration.displayURL): \(reason)")
        } catch {
            throw MountPoint.Problem(description: "catalog \(configuration.displayURL): \(error)")
        }
    }

    /// The cache under `cacheDirectory` and the filesystem on it and `catalog`, recovered from
    /// whatever an earlier run left.
    private func openFileSystem(
        cacheDirectory: String, catalog: any Catalog, fleet: PostgresCatalog?, client: WeChatMediaClient,
        logger: Logger
    ) async throws -> MediaFileSystem {
        let cache = try ContentCache(root: cacheDirectory)
        let floor = command.cacheMinFree.bytes(onDiskOf: cache.diskBytes())
        // A fleet judges expiry by its database's clock.
        let clock: any MountClock =
            if let shared = fleet {
                OffsetClock { shared.clockOffsetNanoseconds }
            } else {
                SystemClock()
            }
        var settings = MountSettings(
            mediaLifetimeSeconds: command.mediaTTL.seconds, uid: getuid(), gid: getgid(),
            cacheMaxBytes: command.cacheMaxSize.bytes, minimumFreeBytes: floor,
            statusSocketPath: cacheDirectory + "/status.sock", uploadMode: command.uploads,
            uploadConcurrency: command.uploadConcurrency,
            queuedUploadWait: .seconds(command.requestTimeout.seconds), sidecars: command.sidecars)
        settings.materialListSeconds = Double(command.materialListTTL.seconds)
        settings.allowDelete = command.allowDelete
        settings.allowPublish = command.allowPublish
        settings.draftSettle = .seconds(command.draftSettle.seconds)
        settings.publishPollsPerDay = command.publishPollsPerDay
        let fileSystem = MediaFileSystem(
            catalog: catalog, cache: cache,
            service: MeteredMediaService(client) { try? await catalog.knownMedia($0)?.type },
            material: MeteredMaterialService(client), drafts: client,
            settings: settings, clock: clock, logger: logger)
        try await fileSystem.recover()
        return fileSystem
    }

    /// The socket that answers `wxmediafs status` or `sync` in the cache dir (only the mounting
    /// user's); a mount without it still works, so failure is a warning.
    static func bind(
        _ what: String, at path: String, logger: Logger, document: @escaping @Sendable () async -> [UInt8]
    ) async -> StatusServer? {
        do {
            return try await StatusServer.bind(path: path, report: document)
        } catch {
            logger.warning("no \(what) socket at \(path): \(error)")
            return nil
        }
    }

    static func defaultCacheDirectory(appID: String?) -> String {
        let environment = ProcessInfo.processInfo.environment
        let base =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.cache"
        return base + "/wxmediafs/" + (appID ?? "token-file")
    }
}

// <malloc.h>, which Glibc's module does not export.
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
