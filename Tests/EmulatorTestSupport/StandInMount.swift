import FUSEKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real mount (`wxmediafs mount --foreground` as a child process) against any API base URL, such
/// as a `StandInServer`'s. `MountFixture` does the same for an emulator it starts; this one takes
/// the base URL and a folder, so a test can unmount and mount again on the same cache. Mountpoint
/// `folder/mnt`, cache `folder/cache`, secret `folder/secret`; each start logs to a file of its own.
public struct StandInMount: Sendable {
    public let mountpoint: String
    public let cacheDirectory: String
    public let logPath: String
    private let process: Process

    /// Mounts, runs `body`, and always unmounts and reaps the daemon, also when `body` throws.
    public static func with<T>(
        apiBase: String, folder: String, arguments: [String] = [], _ body: (StandInMount) async throws -> T
    ) async throws -> T {
        let mount = try await start(apiBase: apiBase, folder: folder, arguments: arguments)
        do {
            let result = try await body(mount)
            try await mount.stop()
            return result
        } catch {
            try? await mount.stop()
            throw error
        }
    }

    /// Starts a mount in `folder` and waits (with a deadline) until it answers.
    public static func start(apiBase: String, folder: String, arguments: [String] = []) async throws -> StandInMount {
        let mountpoint = folder + "/mnt"
        // mkdir, not FileManager: a dead mount there must not look like a missing folder.
        if mkdir(mountpoint, 0o755) != 0, errno != EEXIST {
            throw FixtureError("cannot create \(mountpoint)")
        }
        try "standin-secret\n".write(toFile: folder + "/secret", atomically: true, encoding: .utf8)
        let stdoutPath = folder + "/stdout-\(UUID().uuidString)"
        let logPath = folder + "/log-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.wxmediafsPath)
        process.arguments =
            [
                "mount", mountpoint, "--foreground", "--appid", "wxtest", "--secret-file", folder + "/secret",
                "--api-base", apiBase, "--cache-dir", folder + "/cache", "--log-level", "debug",
            ] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let mount = StandInMount(
            mountpoint: mountpoint, cacheDirectory: folder + "/cache", logPath: logPath, process: process)
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let output = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if output.contains("wxmediafs: mounted") { return mount }
            if !process.isRunning || ContinuousClock.now > deadline {
                try? await mount.stop()
                throw FixtureError("the mount did not come up: \(mount.log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Unmounts and waits (with a deadline) for the daemon to exit; kills it if it does not.
    public func stop() async throws {
        if MountTable.isMounted(mountpoint) { MountTable.detach(mountpoint, lazy: false) }
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            MountTable.detach(mountpoint, lazy: true)
            throw FixtureError("the mount process did not exit after unmount: \(log)")
        }
        if MountTable.isMounted(mountpoint) {
            MountTable.detach(mountpoint, lazy: true)
            throw FixtureError("\(mountpoint) was still mounted after the daemon exited")
        }
    }

    public var isRunning: Bool { process.isRunning }
    /// The daemon's exit status once it has exited (a signal shows as its number, with `exitedBySignal`).
    public var terminationStatus: Int32 { process.terminationStatus }
    public var exitedBySignal: Bool { !process.isRunning && process.terminationReason == .uncaughtSignal }

    /// What the daemon has logged so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Runs a shell script (bash) with `$M` set to the mountpoint and `$S` to the samples folder.
    public func shell(_ script: String) async throws -> CommandResult {
        try await Command.run("/bin/bash", ["-c", "M='\(mountpoint)'; S='\(Samples.folder)'; " + script])
    }
}
