import Foundation

/// What a finished program printed and how it exited.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
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
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
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
        return CommandResult(status: status, stdout: read(outPath), stderr: read(errPath))
    }

    /// curl, which the README's set-up installs.
    public static func curl(_ arguments: [String]) async throws -> CommandResult {
        try await run("/usr/bin/curl", ["--silent", "--show-error", "--max-time", "30"] + arguments)
    }

    /// The `wxmediafs` executable built beside the test bundle.
    public static var wxmediafsPath: String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("wxmediafs").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "wxmediafs"
    }
}
