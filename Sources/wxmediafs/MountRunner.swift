import AsyncHTTPClient
import FUSEKit
import Foundation
import Logging
import MediaCatalog
import Synchronization
import WeChatEmulator
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// Runs a mount in this process until it is unmounted: builds the client, catalog and filesystem,
/// mounts, reports readiness on stdout, and on SIGINT/SIGTERM lets uploads in flight finish
/// (at most 30 s) before unmounting.
struct MountRunner {
    let command: MountCommand
    let mountpoint: String

    func run() async throws {
        let logger = try startLogging()
        let metricsRegistry = command.metricsAddress.map { _ in MetricsServer.bootstrap() }
        try prepareProcess()
        let account = try await resolveAccount(logger: logger)
        let cacheDirectory = command.cacheDir ?? Self.defaultCacheDirectory(appID: account.appID)
        try CacheDirectory.prepare(cacheDirectory)
        let catalog = try await openCatalog(cacheDirectory: cacheDirectory, account: account, logger: logger)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let client = makeClient(account, http: http, fleet: catalog as? PostgresCatalog, logger: logger)
        let quota = QuotaMonitor(source: client, interval: .seconds(command.quotaInterval.seconds))
        let fileSystem: MediaFileSystem
        let session: FUSESession
        let metrics: MetricsServer?
        do {
            fileSystem = try await openFileSystem(
                cacheDirectory: cacheDirectory, catalog: catalog, client: client, logger: logger)
            metrics = try await MetricsServer.start(
                command.metricsAddress, registry: metricsRegistry, quota: quota, logger)
            session = try FUSESession(
                fileSystem: fileSystem, mountpoint: mountpoint,
                options: ["fsname=wxmediafs", "subtype=wxmediafs", "default_permissions"] + command.options,
                kernelCache: fileSystem.kernelCache, logger: logger)
        } catch {
            // An HTTP client must be shut down before it goes (it traps otherwise).
            try? await http.shutdown()
            if let shared = catalog as? PostgresCatalog { await shared.close() }
            await account.emulator?.stop()
            throw error
        }
        let maintenance = fileSystem.startMaintenance()
        let systemd = SystemdNotifier()
        let stopping = Mutex<ShutdownBudget?>(nil)
        let signals = Self.onTermination {
            // A second signal keeps the first one's budget.
            let budget = stopping.withLock { stopping in
                let budget = stopping ?? ShutdownBudget(signalled: .now)
                stopping = budget
                return budget
            }
            systemd?.send("STOPPING=1", "STATUS=Finishing uploads, then unmounting")
            logger.notice(
                "stopping: letting uploads in flight finish, then unmounting \(mountpoint) (within \(ShutdownBudget.total))"
            )
            Task {
                if await !fileSystem.waitForUploads(until: budget.uploadsEnd) {
                    logger.warning("uploads still in flight after \(ShutdownBudget.uploads): unmounting anyway")
                }
                session.unmount(answeringWithin: ContinuousClock.now.duration(to: budget.answersEnd))
                // Past the answers' share, requests still held (a close waiting for a held
                // upload keeps the mount, and the loop, alive) are cancelled: they answer EIO.
                guard (try? await Task.sleep(until: budget.answersEnd)) != nil else { return }
                session.cancelRequestsInFlight()
            }
        }
        let startedAt = Date()
        let status = await Self.serve("status", at: cacheDirectory + "/status.sock", logger: logger) {
            var report = await fileSystem.status(mountpoint: mountpoint, apiBase: account.apiBase, startedAt: startedAt)
            (report.quota, report.metricsURL) = (await quota.latest(), metrics?.url)
            return (try? report.json()) ?? []
        }
        // `wxmediafs sync`: each connection waits until the upload queue settled, then gets what failed.
        let sync = await Self.serve("sync", at: cacheDirectory + "/sync.sock", logger: logger) {
            (try? WireFormat.encode(await fileSystem.syncQueuedUploads())) ?? []
        }

        async let served: Void = session.run()
        await announceWhenAnswering(session, systemd: systemd, apiBase: account.apiBase, cache: cacheDirectory, logger)
        await served

        // Queued files wait for their uploads (bounded, as SIGTERM's wait is); what is left
        // stays queued on disk, and the next mount on this cache dir resumes it.
        // After a signal, within what is left of the shutdown budget.
        var drain = Duration.seconds(command.queueDrainTimeout.seconds)
        if let budget = stopping.withLock({ $0 }) {
            drain = min(drain, max(.zero, ContinuousClock.now.duration(to: budget.queueEnd)))
        }
        let left = await fileSystem.waitForQueuedUploads(timeout: drain)
        if left > 0 {
            logger.warning(
                "\(left) queued upload(s) left after \(drain): the next mount on \(cacheDirectory) resumes them")
        }
        // Uploads still in flight are cancelled; their files stay queued on disk.
        // Without a signal (an unmount), the same share as after one.
        let stopBy =
            stopping.withLock({ $0 })?.queueStopEnd ?? .now + (ShutdownBudget.queueStop - ShutdownBudget.queue)
        await fileSystem.stopQueuedUploads(until: stopBy)
        await sync?.stop()
        await status?.stop()
        await metrics?.stop()
        logger.info("unmounted \(mountpoint); peak memory \(Self.peakMemoryKiB() ?? "?") KiB")
        signals.forEach { $0.cancel() }
        maintenance.cancel()
        if let shared = catalog as? PostgresCatalog { await shared.close() }
        try? await http.shutdown()
        await account.emulator?.stop()
        if let folder = account.emulatorDataDirectory { try? FileManager.default.removeItem(atPath: folder) }
        if command.emulator, command.cacheDir == nil { try? FileManager.default.removeItem(atPath: cacheDirectory) }
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
        let dataDirectory = try Self.makeTemporaryFolder("emulator")
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
    private func makeClient(_ account: Account, http: HTTPClient, fleet: PostgresCatalog?, logger: Logger)
        -> WeChatMediaClient
    {
        let connection = APIConnection(baseURL: account.apiBase, httpClient: http)
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

    /// SQLite under the cache dir, or with `--catalog-url` the fleet's PostgreSQL catalog.
    private func openCatalog(cacheDirectory: String, account: Account, logger: Logger) async throws -> any Catalog {
        guard let url = command.catalogURL else {
            let catalog = try SQLiteCatalog(path: cacheDirectory + "/catalog.sqlite")
            chmod(cacheDirectory + "/catalog.sqlite", 0o600)
            return catalog
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
            return catalog
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
        cacheDirectory: String, catalog: any Catalog, client: WeChatMediaClient, logger: Logger
    ) async throws -> MediaFileSystem {
        let cache = try ContentCache(root: cacheDirectory)
        let floor = command.cacheMinFree.bytes(onDiskOf: cache.diskBytes())
        // A fleet judges expiry by its database's clock.
        let clock: any MountClock =
            if let shared = catalog as? PostgresCatalog {
                OffsetClock { shared.clockOffsetNanoseconds }
            } else {
                SystemClock()
            }
        let fileSystem = MediaFileSystem(
            catalog: catalog, cache: cache,
            service: MeteredMediaService(client) { try? await catalog.knownMedia($0)?.type },
            settings: MountSettings(
                mediaLifetimeSeconds: command.mediaTTL.seconds, uid: getuid(), gid: getgid(),
                cacheMaxBytes: command.cacheMaxSize.bytes, minimumFreeBytes: floor,
                statusSocketPath: cacheDirectory + "/status.sock", uploadMode: command.uploads,
                uploadConcurrency: command.uploadConcurrency,
                queuedUploadWait: .seconds(command.requestTimeout.seconds), sidecars: command.sidecars),
            clock: clock, logger: logger)
        try await fileSystem.recover()
        return fileSystem
    }

    /// Says "mounted" (stdout for the daemonizing parent, READY=1 for systemd) once a request to
    /// the mount is answered; unmounts if none is.
    private func announceWhenAnswering(
        _ session: FUSESession, systemd: SystemdNotifier?, apiBase: String, cache: String, _ logger: Logger
    ) async {
        guard await Self.waitUntilAnswering(mountpoint) else {
            logger.error("the mount at \(mountpoint) does not answer")
            session.unmount()
            return
        }
        let ready = "wxmediafs: mounted \(mountpoint) (api \(apiBase), cache \(cache), daemon pid \(getpid()))\n"
        FileHandle.standardOutput.write(Data(ready.utf8))
        systemd?.send("READY=1", "STATUS=Mounted \(mountpoint)")
        logger.info("mounted \(mountpoint)")
    }

    static func peakMemoryKiB() -> Substring? {
        (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
    }

    /// Whether a request to the mount is answered: a stat of its root, which the kernel sends to
    /// the loop just started. It blocks until then, so it runs on a thread of its own.
    static func waitUntilAnswering(_ mountpoint: String) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread {
                var info = stat()
                continuation.resume(returning: stat(mountpoint, &info) == 0)
            }.start()
        }
    }

    /// Starts answering `wxmediafs status` or `sync` on a Unix socket in the cache dir (only
    /// the mounting user's); a mount without it still works, so failure is a warning.
    static func serve(
        _ what: String, at path: String, logger: Logger, document: @escaping @Sendable () async -> [UInt8]
    ) async -> StatusServer? {
        do {
            return try await StatusServer.start(path: path, report: document)
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

    static func makeTemporaryFolder(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "wxmediafs-\(label)-" + UUID().uuidString
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }

    /// Runs `handler` once on SIGINT or SIGTERM (instead of dying), on a dispatch queue.
    static func onTermination(_ handler: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        let fired = Once()
        return [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { if fired.first() { handler() } }
            source.resume()
            return source
        }
    }
}

// <malloc.h>, which Glibc's module does not export.
@_silgen_name("mallopt")
private func mallopt(_ parameter: Int32, _ value: Int32) -> Int32

/// True the first time only.
final class Once: Sendable {
    private let done = Mutex(false)

    func first() -> Bool {
        done.withLock { value in
            defer { value = true }
            return !value
        }
    }
}
