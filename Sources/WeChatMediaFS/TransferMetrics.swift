import CoreMetrics
import Deadlines
import Synchronization

/// How a transfer is counted for the metrics endpoint, whoever makes it (`MeteredMediaService`
/// for temporary media, `MeteredMaterialService` for the permanent library): by direction, a
/// `type` label, outcome (the errno the filesystem answers and the errcode), bytes of those
/// that succeeded, latency, and how many are in flight.
enum TransferMetrics {
    enum Direction: String {
        case upload, download
    }

    /// Runs one transfer, counted in flight while it runs, then by outcome, with its duration
    /// and (on success) the bytes `body` reports.
    static func measure<T>(
        _ direction: Direction, type: String, errno: (any Error) -> Int32,
        _ body: () async throws -> (T, Int64)
    ) async throws -> T {
        let inFlight = Meter(label: "wxmediafs_transfers_in_flight", dimensions: [("direction", direction.rawValue)])
        inFlight.increment()
        defer { inFlight.decrement() }
        let started = ContinuousClock.now
        let prefix = "wxmediafs_" + direction.rawValue
        func finish(outcome: String, errcode: String) {
            let dimensions = [("type", type), ("outcome", outcome), ("errcode", errcode)]
            Counter(label: prefix + "s_total", dimensions: dimensions).increment()
            Timer(
                label: prefix + "_duration_seconds",
                dimensions: [("type", type), ("result", outcome == "ok" ? "ok" : "failed")]
            ).recordElapsed(since: started)
        }
        do {
            let (result, bytes) = try await body()
            finish(outcome: "ok", errcode: "0")
            Counter(label: prefix + "_bytes_total", dimensions: [("type", type)]).increment(by: max(0, bytes))
            return result
        } catch {
            finish(
                outcome: ErrnoMapping.name(of: errno(error)),
                errcode: ErrnoMapping.errcode(of: error).map(String.init) ?? "none")
            throw error
        }
    }
}

/// The last byte count a download's progress reported.
final class ByteTally: Sendable {
    private let count = Mutex<Int64>(0)
    func set(_ bytes: Int64) { count.withLock { $0 = bytes } }
    var value: Int64 { count.withLock { $0 } }
}

extension Timer {
    fileprivate func recordElapsed(since start: ContinuousClock.Instant) {
        recordNanoseconds(start.duration(to: .now).wholeNanoseconds)
    }
}
