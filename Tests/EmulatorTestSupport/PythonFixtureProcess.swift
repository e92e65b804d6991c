import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A Python script of `Fixtures/` run as a child process that prints the loopback port it
/// listens on: the shape the stand-in server and the dropping proxy share.
struct PythonFixtureProcess: Sendable {
    let process: Process
    let port: Int

    /// Starts `script` with `arguments` and waits, with a deadline, for the port it prints.
    static func start(_ script: String, _ arguments: [String]) async throws -> PythonFixtureProcess {
        let folder = try TemporaryDirectory.make()
        let portPath = folder + "/port"
        _ = FileManager.default.createFile(atPath: portPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Samples.path(script)] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: portPath))
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let printed = (try? String(contentsOfFile: portPath, encoding: .utf8)) ?? ""
            if printed.hasSuffix("\n"), let port = Int(printed.trimmingCharacters(in: .whitespacesAndNewlines)) {
                try? FileManager.default.removeItem(atPath: folder)
                return PythonFixtureProcess(process: process, port: port)
            }
            if !process.isRunning || ContinuousClock.now > deadline {
                await Self.stop(process)
                try? FileManager.default.removeItem(atPath: folder)
                throw FixtureError("\(script) did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Ends the process and waits (with a deadline) until it has been reaped. SIGKILL, because
    /// it keeps nothing, and because a child of the test runner may inherit SIGTERM blocked.
    func stop() async { await Self.stop(process) }

    private static func stop(_ process: Process) async {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
