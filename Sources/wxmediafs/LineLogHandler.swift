import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// One line per message: time, level, label, metadata, message.
struct LineLogHandler: LogHandler {
    let label: String
    let destination: LogDestination
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, destination: LogDestination, logLevel: Logger.Level) {
        self.label = label
        self.destination = destination
        self.logLevel = logLevel
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let details =
            merged.isEmpty ? "" : merged.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ") + " "
        // One message, one line: file names may hold newlines, which must not start a forged line.
        let text = Self.oneLine("\(label): \(details)\(event.message)")
        switch destination {
        case .journal:
            // journald reads "<N>" as the syslog priority and stamps the time itself.
            FileHandle.standardError.write(Data("<\(Self.syslogPriority(event.level))>\(text)\n".utf8))
        case .standardError:
            FileHandle.standardError.write(Data("\(Self.timestamp()) \(event.level) \(text)\n".utf8))
        case .file(let file):
            file.write("\(Self.timestamp()) \(event.level) \(text)")
        }
    }

    static func oneLine(_ text: String) -> String {
        guard text.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return text.replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Digits by hand: `String(format:)` cost more than the rest of a log line.
        func digits(_ value: Int, _ count: Int) -> String {
            let text = String(value)
            return text.count >= count ? text : String(repeating: "0", count: count - text.count) + text
        }
        return digits(Int(parts.tm_year) + 1900, 4) + "-" + digits(Int(parts.tm_mon) + 1, 2) + "-"
            + digits(Int(parts.tm_mday), 2) + "T" + digits(Int(parts.tm_hour), 2) + ":" + digits(Int(parts.tm_min), 2)
            + ":" + digits(Int(parts.tm_sec), 2) + "." + digits(now.tv_nsec / 1_000_000, 3) + "Z"
    }
}
