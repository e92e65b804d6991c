import ArgumentParser
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Where log lines go: stderr in the foreground, the journal (stderr with syslog priorities) under
/// systemd, a rotated file under the cache dir when daemonized.
enum LogDestination: Sendable {
    case standardError
    case journal
    case file(RotatingLogFile)

    /// The journal when systemd connected stderr to it (`$JOURNAL_STREAM` names stderr's device
    /// and inode), else stderr.
    static func forStandardError(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> LogDestination
    {
        guard let stream = environment["JOURNAL_STREAM"] else { return .standardError }
        let parts = stream.split(separator: ":").compactMap { UInt64($0) }
        var info = stat()
        guard parts.count == 2, fstat(STDERR_FILENO, &info) == 0, UInt64(info.st_dev) == parts[0],
            UInt64(info.st_ino) == parts[1]
        else { return .standardError }
        return .journal
    }
}

enum LogSetup {
    /// Log lines never go to stdout, so stdout carries only what scripts read (the base URL, the
    /// readiness line).
    static func bootstrap(level: Logger.Level, destination: LogDestination = .forStandardError()) {
        LoggingSystem.bootstrap { label in
            LineLogHandler(label: label, destination: destination, logLevel: level)
        }
    }
}
