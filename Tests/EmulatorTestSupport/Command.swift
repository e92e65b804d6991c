import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What a finished program printed and how it exited.
public struct CommandResult: Sendable {
    /// The exit status, or the signal's number when `signal` is set.
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// The signal that ended the program, if one did (a crash, a kill).
    public var signal: Int32?
}

/// Runs programs the way a user would (curl for the seed's own examples, the built `wxmediafs`).
public enum Command {
    /// Runs `executable` to completion; output goes through temporary files, so no pipe can fill
    /// up and no thread blocks while waiting.
    public static func run(_ executable: String, _ arguments: [String]) async throws -> CommandResult {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outPath = directory + "/stdout"
        let errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errors = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        // The child has its own copies: ours are closed once it ended (Foundation keeps them
        // open otherwise, and a suite of a few hundred commands reached the ~1,600 descriptors
        // at which `Process.run` crashes).
        defer {
            try? output.close()
            try? errors.close()
        }
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        let (status, signal): (Int32, Int32?) = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = {
                let signal = $0.terminationReason == .uncaughtSignal ? $0.terminationStatus : nil
                continuation.resume(returning: ($0.terminationStatus, signal))
            }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let read = { (path: String) in
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return CommandResult(status: status, stdout: read(outPath), stderr: read(errPath), signal: signal)
    }

    /// Starts `executable` in the background, its output discarded.
    public static func start(_ executable: String, _ arguments: [String]) throws -> BackgroundCommand {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return BackgroundCommand(process: process)
    }

    /// The program `name` as the shell would find it on `$PATH`; nil if it is not there.
    public static func which(_ name: String) -> String? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// curl, which the README's set-up installs.
    public static func curl(_ arguments: [String]) async throws -> CommandResult {
        try await run("/usr/bin/curl", ["--silent", "--show-error", "--max-time", "30"] + arguments)
    }

    /// The `wxmediafs` executable under test: `$WXMEDIAFS_BINARY` if set (to try another
    /// build), else the one built beside the test bundle, whatever the scratch folder.
    public static var wxmediafsPath: String {
        if let path = ProcessInfo.processInfo.environment["WXMEDIAFS_BINARY"], !path.isEmpty { return path }
        return builtExecutable("wxmediafs") ?? "wxmediafs"
    }

    /// An executable product of this package (`wxmediafs`, the fuzz replayers), found in the
    /// build folder the test bundle runs from or one of its parents; nil if it was not built.
    public static func builtExecutable(_ name: String) -> String? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }
}

/// A program started by `Command.start`, still running or not.
public struct BackgroundCommand: Sendable {
    let process: Process

    public var isRunning: Bool { process.isRunning }

    /// Waits up to `limit` for it to end by itself; false if it did not, and then it is killed.
    public func waitForExit(within limit: Duration) async -> Bool {
        if await eventually(within: limit, { !process.isRunning }) { return true }
        Glibc.kill(process.processIdentifier, SIGKILL)
        return false
    }

    /// Kills it if it still runs: for clean-up after a failure.
    public func kill() {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }
}
