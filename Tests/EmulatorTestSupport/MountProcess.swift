import FUSEKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `wxmediafs mount --foreground` as a child process at `folder/mnt`, logging to a file of its
/// own, against whatever API its arguments name. `MountFixture` is one against an emulator it
/// starts; tests with a stand-in server use this directly. `with` always unmounts and reaps the
/// process, also when the test body throws.
public struct MountProcess: Sendable {
    public let mountpoint: String
    public let logPath: String
    private let process: Process

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Mounts, runs `body`, and always unmounts and reaps the daemon.
    public static func with<T>(folder: String, arguments: [String], _ body: (MountProcess) async throws -> T)
        async throws -> T
    {
        let mount = try await start(folder: folder, arguments: arguments)
        return try await using(mount, stop: { try await $0.stop() }, body)
    }

    /// Starts the daemon with `arguments` (everything after `mount MOUNTPOINT --foreground`) and
    /// waits, with a deadline, until the mount answers; `environment` is added to the daemon's.
    public static func start(folder: String, arguments: [String], environment: [String: String] = [:])
        async throws -> MountProcess
    {
        let mountpoint = folder + "/mnt"
        // mkdir, not FileManager: a dead mount there must not look like a missing folder.
        if mkdir(mountpoint, 0o755) != 0, errno != EEXIST { throw Failure(description: "cannot create \(mountpoint)") }
        let stdoutPath = folder + "/stdout-\(UUID().uuidString)"
        let logPath = folder + "/log-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.wxmediafsPath)
        process.arguments = ["mount", mountpoint, "--foreground", "--log-level", "debug"] + arguments
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // The daemon has its own copies once started: ours would stay open for the whole run.
        defer {
            try? output.close()
            try? errors.close()
        }
        try process.run()
        let mount = MountProcess(mountpoint: mountpoint, logPath: logPath, process: process)
        let mounted = {
            ((try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "").contains("wxmediafs: mounted")
        }
        _ = await eventually(within: .seconds(30)) { mounted() || !process.isRunning }
        if mounted() { return mount }
        try? await mount.stop()
        throw Failure(description: "the mount did not come up: \(mount.log)")
    }

    /// Unmounts and waits (with a deadline) for the daemon to exit; kills it if it does not.
    public func stop() async throws {
        if MountTable.isMounted(mountpoint) { MountTable.detach(mountpoint, lazy: false) }
        if await !eventually(within: .seconds(20), { !process.isRunning }) {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            MountTable.detach(mountpoint, lazy: true)
            throw Failure(description: "the mount process did not exit after unmount: \(log)")
        }
        if MountTable.isMounted(mountpoint) {
            MountTable.detach(mountpoint, lazy: true)
            throw Failure(description: "\(mountpoint) was still mounted after the daemon exited")
        }
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
}
