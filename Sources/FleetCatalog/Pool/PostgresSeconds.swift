import Deadlines
import MediaCatalog

/// Durations to and from the `float8` seconds that PostgreSQL's interval arithmetic takes and
/// gives (`make_interval(secs => $1)`, `extract(epoch FROM ...)`).
enum PostgresSeconds {
    /// Longer spans than these tables ever hold (a token lives 2 hours, a pause a day at most):
    /// a row that says more is clamped rather than trusted into a `Duration` that could trap.
    static let limit: Double = 30 * 86400

    static func duration(_ seconds: Double) -> Duration {
        guard seconds.isFinite else { return seconds > 0 ? .seconds(limit) : .seconds(-limit) }
        return .milliseconds(Int64((min(max(seconds, -limit), limit) * 1000).rounded()))
    }

    static func seconds(_ duration: Duration) -> Double {
        min(max(duration.inSeconds, -limit), limit)
    }

    /// Whole milliseconds of `duration`, at least 1 (a lock or idle timeout of 0 means none at all).
    static func timeoutMilliseconds(_ duration: Duration) -> Int64 {
        max(1, Int64((seconds(duration) * 1000).rounded(.up)))
    }
}
