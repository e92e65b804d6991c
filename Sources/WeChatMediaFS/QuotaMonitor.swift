import CoreMetrics
import Deadlines
import Foundation
import WeChatMedia

/// Where the daily quotas come from: the API client in a mount, a stand-in in tests.
public protocol QuotaSource: Sendable {
    func quota(of cgiPath: String) async throws -> APIQuota
}

extension WeChatMediaClient: QuotaSource {
    public func quota(of cgiPath: String) async throws -> APIQuota {
        try await quota(of: cgiPath, retry: QuotaMonitor.retry)
    }
}

/// The daily quotas of uploads, downloads and material adds for `wxmediafs status` and the
/// metrics endpoint.
/// The server is asked at most once per `interval` (a minute: the quota API has a quota of its
/// own) however often they are wanted, and in the background: a caller gets the numbers of the
/// last asking at once, so `status` (and `unmount`, which reads it) never waits on the network.
public actor QuotaMonitor {
    /// The APIs whose quota a mount reports: temporary uploads and downloads, and adds to the
    /// permanent library (where the server tells it).
    public static let watched: [(kind: String, cgiPath: String)] = [
        ("upload", "/cgi-bin/media/upload"), ("download", "/cgi-bin/media/get"),
        ("add_material", "/cgi-bin/material/add_material"),
    ]
    public static let defaultInterval: Duration = .seconds(60)
    /// Short, so a server that does not answer holds up only the next asking.
    static let retry = RetryPolicy(
        maxAttempts: 2, initialBackoff: .milliseconds(200), maxBackoff: .seconds(1), totalTime: .seconds(5))

    private let source: any QuotaSource
    private let clock: any MountClock
    private let intervalNanoseconds: Int64
    private var last: [MountStatus.Quota] = []
    private var lastAskedAt: Int64?
    private var asking: Task<Void, Never>?

    public init(source: any QuotaSource, interval: Duration = defaultInterval, clock: any MountClock = SystemClock()) {
        self.source = source
        self.clock = clock
        // At least a second (anything shorter would be a typo), at most a day.
        self.intervalNanoseconds = min(max(interval, .seconds(1)), .seconds(86400)).wholeNanoseconds
    }

    /// The quotas as of the last asking (empty before the first one has answered). Starts an
    /// asking when none ran for `interval`; a failed one counts, so a server that refuses is
    /// not asked again at once either.
    public func latest() -> [MountStatus.Quota] {
        askIfDue()
        return last
    }

    /// Waits for the asking in flight, if any.
    public func settle() async { await asking?.value }

    private func askIfDue() {
        guard asking == nil else { return }
        let now = clock.now()
        if let lastAskedAt, now - lastAskedAt < intervalNanoseconds { return }
        lastAskedAt = now
        let source = self.source
        asking = Task { self.store(await Self.ask(source, at: Date(timeIntervalSince1970: Double(now) / 1e9))) }
    }

    private func store(_ readings: [MountStatus.Quota]) {
        last = readings
        asking = nil
        Self.export(readings)
    }

    private static func ask(_ source: any QuotaSource, at date: Date) async -> [MountStatus.Quota] {
        await withTaskGroup(of: (Int, MountStatus.Quota).self) { group in
            for (index, api) in watched.enumerated() {
                group.addTask {
                    var reading = MountStatus.Quota(kind: api.kind, cgiPath: api.cgiPath, askedAt: date)
                    do {
                        let quota = try await source.quota(of: api.cgiPath)
                        reading.dailyLimit = quota.dailyLimit
                        reading.used = quota.used
                        reading.remain = quota.remain
                    } catch let error as APIError {
                        reading.error = "errcode \(error.errcode), \(error.errmsg)"
                    } catch {
                        reading.error = "\(error)"
                    }
                    return (index, reading)
                }
            }
            var readings: [(Int, MountStatus.Quota)] = []
            for await reading in group { readings.append(reading) }
            return readings.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// Gauges of the last numbers the server gave, by `cgi_path`.
    private static func export(_ readings: [MountStatus.Quota]) {
        for reading in readings {
            guard let limit = reading.dailyLimit, let used = reading.used, let remain = reading.remain else { continue }
            let dimensions = [("cgi_path", reading.cgiPath)]
            Gauge(label: "wxmediafs_api_quota_daily_limit", dimensions: dimensions).record(limit)
            Gauge(label: "wxmediafs_api_quota_used", dimensions: dimensions).record(used)
            Gauge(label: "wxmediafs_api_quota_remaining", dimensions: dimensions).record(remain)
        }
    }
}
