import FUSEKit
import Foundation
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// A real mount: `wxmediafs mount --foreground` as a child process against an emulator on
/// loopback, each with its own temporary folders. `with` always unmounts and reaps the process,
/// also when the test body throws.
public struct MountFixture: Sendable {
    public let emulator: EmulatorFixture
    public let mountpoint: String
    public let cacheDirectory: String
    public let logPath: String
    private let process: Process

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func with<T>(
        limits: LimitsProfile = .seed, arguments: [String] = [], _ body: (MountFixture) async throws -> T
    ) async throws -> T {
        try await EmulatorFixture.with(limits: limits) { emulator in
            let folder = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let mount = try await start(
                emulator: emulator, folder: folder, limits: limits, arguments: arguments)
            do {
                let result = try await body(mount)
                try await mount.stop()
                return result
            } catch {
                try? await mount.stop()
                throw error
            }
        }
    }

    /// Starts a mount in `folder` (mountpoint `mnt`, cache `cache`) and waits until it answers;
    /// `environment` is added to the daemon's.
    public static func start(
        emulator: EmulatorFixture, folder: String, limits: LimitsProfile = .seed, arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> MountFixture {
        let mountpoint = folder + "/mnt"
        let cache = folder + "/cache"
        // mkdir, not FileManager: a dead mount there must not look like a missing folder.
        if mkdir(mountpoint, 0o755) != 0, errno != EEXIST { throw Failure(description: "cannot create \(mountpoint)") }
        let stdoutPath = folder + "/stdout-\(UUID().uuidString)"
        let logPath = folder + "/log-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.wxmediafsPath)
        process.arguments =
            ["mount", mountpoint, "--foreground"] + (try account(emulator: emulator, folder: folder))
            + ["--limits", limits.rawValue, "--log-level", "debug"] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        try process.run()
        let fixture = MountFixture(
            emulator: emulator, mountpoint: mountpoint, cacheDirectory: cache, logPath: logPath, process: process)
        let mounted = {
            ((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "").contains("wxmediafs: mounted")
        }
        _ = await eventually(within: .seconds(30)) { mounted() || !process.isRunning }
        if mounted() { return fixture }
        try? await fixture.stop()
        throw Failure(description: "the mount did not come up: \(fixture.log)")
    }

    /// Unmounts and waits (with a deadline) for the daemon to exit; kills it if it does not.
    public func stop() async throws {
        if MountFixture.isMounted(mountpoint) { MountTable.detach(mountpoint, lazy: false) }
        if await !eventually(within: .seconds(20), { !process.isRunning }) {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            MountTable.detach(mountpoint, lazy: true)
            throw Failure(description: "the mount process did not exit after unmount: \(log)")
        }
        if MountFixture.isMounted(mountpoint) {
            MountTable.detach(mountpoint, lazy: true)
            throw Failure(description: "\(mountpoint) was still mounted after the daemon exited")
        }
    }

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

    public var processIdentifier: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    public var terminationStatus: Int32 { process.terminationStatus }
    /// Whether the daemon was ended by a signal (a crash, a kill) rather than exiting.
    public var endedBySignal: Bool { process.terminationReason == .uncaughtSignal }

    /// Waits, with a deadline, for the daemon to exit by itself.
    public func waitForExit(within limit: Duration = .seconds(20)) async throws -> Int32 {
        guard await eventually(within: limit, { !process.isRunning }) else {
            throw Failure(description: "the daemon did not exit: \(log)")
        }
        return process.terminationStatus
    }

    /// What the daemon has logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs a shell script (bash) with `$M` set to the mountpoint and `$S` to the samples folder.
    public func shell(_ script: String) async throws -> CommandResult {
        try await Command.run("/bin/bash", ["-c", "M='\(mountpoint)'; S='\(Samples.folder)'; " + script])
    }

    public func path(_ relative: String) -> String { mountpoint + "/" + relative }

    public func contents(_ relative: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path(relative)).map(Array.init)
    }

    public func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    public static func isMounted(_ path: String) -> Bool { MountTable.isMounted(path) }
}
