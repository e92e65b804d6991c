import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum LogSetup {
    /// Log lines go to stderr, so stdout carries only what scripts read (the base URL).
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
