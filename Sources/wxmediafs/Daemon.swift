import ArgumentParser
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Starts the mount as a background process in a session of its own and returns once it reports
/// the mount ready (or fails with the reason it gave). The daemon logs to CACHE_DIR/wxmediafs.log,
/// which it rotates itself.
enum Daemon {
    static func start(mountpoint: String, arguments: [String], command: MountCommand) async throws {
        let cacheDirectory =
            try command.cacheDir
            ?? (command.emulator
                ? TemporaryFolder.make("demo-cache")
                : MountRunner.defaultCacheDirectory(appID: command.appid))
        // Before the log is opened: a refused mount must not write into a running mount's log.
        try MountPoint.prepare(mountpoint)
        try CacheDirectory.prepare(cacheDirectory)
        let logPath = command.logFile ?? cacheDirectory + "/wxmediafs.log"
        // Appending: what the daemon prints before it opens the log itself (or if it crashes) lands there too.
        let logDescriptor = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard logDescriptor >= 0 else {
            throw MountPoint.Problem(description: "cannot open the log \(logPath): \(String(cString: strerror(errno)))")
        }
        let log = FileHandle(fileDescriptor: logDescriptor, closeOnDealloc: true)
        // Where this run's lines start: a failure shows only those, not an earlier run's.
        let logStart = lseek(logDescriptor, 0, SEEK_END)

        var childArguments = Array(arguments.dropFirst()) + ["--foreground"]
        if command.logFile == nil { childArguments += ["--log-file", logPath] }
        if command.cacheDir == nil { childArguments += ["--cache-dir", cacheDirectory] }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
        let process = Process()
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setsid") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
            process.arguments = [executable] + childArguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = childArguments
        }
        let readiness = Pipe()
        process.standardOutput = readiness
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()

        // The daemon prints one line once the mount answers; end of file means it gave up.
        var received = Data()
        while !received.contains(UInt8(ascii: "\n")) {
            let chunk = readiness.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            received += chunk
        }
        let line = String(decoding: received, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("wxmediafs: mounted") {
            // The daemon names its own pid: the child started here may be setsid, which forks.
            print(line + ", log \(logPath)")
            return
        }
        process.waitUntilExit()
        let written = FileManager.default.contents(atPath: logPath).map { $0.dropFirst(max(0, Int(logStart))) }
        let tail =
            written.map { String(decoding: $0, as: UTF8.self) }?.split(separator: "\n").suffix(5)
            .joined(separator: "\n") ?? ""
        FileHandle.standardError.write(Data("wxmediafs: mount failed:\n\(tail)\n".utf8))
        throw ExitCode(1)
    }
}
