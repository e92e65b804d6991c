import FUSEKit
import Foundation
import WeChatEmulator
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// A real mount against an emulator on loopback (see `MountProcess`), each with its own
/// temporary folders. `with` always unmounts and reaps the process, also when the test body throws.
public struct MountFixture: Sendable {
    public let emulator: EmulatorFixture
    public let daemon: MountProcess
    public var mountpoint: String { daemon.mountpoint }
    public var cacheDirectory: String { folder + "/cache" }
    public var logPath: String { daemon.logPath }
    private let folder: String

    public typealias Failure = MountProcess.Failure

    public static func with<T>(
        limits: LimitsProfile = .seed, dailyQuota: DailyQuota? = nil, arguments: [String] = [],
        _ body: (MountFixture) async throws -> T
    ) async throws -> T {
        try await EmulatorFixture.with(limits: limits, dailyQuota: dailyQuota) { emulator in
            let folder = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let mount = try await start(
                emulator: emulator, folder: folder, limits: limits, arguments: arguments)
            return try await using(mount, stop: { try await $0.stop() }, body)
        }
    }

    /// Starts a mount in `folder` (mountpoint `mnt`, cache `cache`) and waits until it answers;
    /// `environment` is added to the daemon's.
    public static func start(
        emulator: EmulatorFixture, folder: String, limits: LimitsProfile = .seed, arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> MountFixture {
        let daemon = try await MountProcess.start(
            folder: folder,
            arguments: (try account(emulator: emulator, folder: folder)) + ["--limits", limits.rawValue] + arguments,
            environment: environment)
        return MountFixture(emulator: emulator, daemon: daemon, folder: folder)
    }

    public func stop() async throws { try await daemon.stop() }

    /// Runs `wxmediafs mount` without `--foreground` (it returns once the daemon's mount answers)
    /// at `folder/mnt`, with the secret in `folder/secret` and the cache in `folder/cache`. Pair
    /// it with `cleanUp(folder:)`.
    public static func daemonize(emulator: EmulatorFixture, folder: String, arguments: [String] = []) async throws
        -> CommandResult
    {
        let mountpoint = folder + "/mnt"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        return try await Command.run(
            Command.wxmediafsPath,
            ["mount", mountpoint] + (try account(emulator: emulator, folder: folder)) + arguments)
    }

    /// The `mount` options that reach `emulator` as its app, with the secret written to
    /// `folder/secret` and the cache in `folder/cache`.
    public static func account(emulator: EmulatorFixture, folder: String) throws -> [String] {
        try (EmulatorFixture.secret.value + "\n").write(toFile: folder + "/secret", atomically: true, encoding: .utf8)
        return [
            "--appid", EmulatorFixture.appID, "--secret-file", folder + "/secret", "--api-base", emulator.baseURL,
            "--cache-dir", folder + "/cache",
        ]
    }

    /// Detaches whatever is still mounted at `folder/mnt` and removes `folder`: for tests that
    /// start mounts by hand, to run in a `defer`.
    public static func cleanUp(folder: String) {
        let mountpoint = folder + "/mnt"
        if isMounted(mountpoint) { MountTable.detach(mountpoint, lazy: true) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    public var processIdentifier: Int32 { daemon.processIdentifier }
    public var isRunning: Bool { daemon.isRunning }
    public var terminationStatus: Int32 { daemon.terminationStatus }
    public var endedBySignal: Bool { daemon.endedBySignal }
    public func waitForExit(within limit: Duration = .seconds(20)) async throws -> Int32 {
        try await daemon.waitForExit(within: limit)
    }
    public var log: String { daemon.log }
    public func shell(_ script: String) async throws -> CommandResult { try await daemon.shell(script) }

    /// `wxmediafs status MOUNTPOINT` (with `--json` when asked).
    public func status(json: Bool = false) async throws -> CommandResult {
        try await Command.run(Command.wxmediafsPath, ["status", mountpoint] + (json ? ["--json"] : []))
    }

    /// The metrics URL the mount reports in `status --json` (for `--metrics-address
    /// 127.0.0.1:0`, its port is picked at random).
    public func metricsURL() async throws -> String {
        let document = try await status(json: true).stdout
        let fields = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any]
        guard let url = fields?["metricsURL"] as? String else { throw FixtureError("no metricsURL in \(document)") }
        return url
    }

    public func path(_ relative: String) -> String { mountpoint + "/" + relative }

    public func contents(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path(relative)).map(Array.init)
    }

    public func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    public static func isMounted(_ path: String) -> Bool { MountTable.isMounted(path) }
}
