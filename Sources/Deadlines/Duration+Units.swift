/// The one place a `Duration` becomes a number: metrics, log lines, timers, the catalog's
/// intervals and the API's answers all read a duration through these, and none traps on a
/// duration too long for its unit (a day-long `--request-timeout`, a clock gone wrong).
extension Duration {
    /// Whole nanoseconds, saturating at the bounds of `Int64` (about 292 years).
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowed) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !overflowed else { return seconds < 0 ? .min : .max }
        return total
    }

    /// Whole milliseconds, the one unit log lines give times in (`24 ms`), saturating.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        return scaled &+ attoseconds / 1_000_000_000_000_000
    }

    /// Seconds with their fraction, as metrics and status documents give them.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole seconds, a started second counted whole (a wait is never shorter than asked).
    public var roundedUpSeconds: Int64 {
        let (seconds, attoseconds) = components
        return attoseconds > 0 && seconds < .max ? seconds + 1 : seconds
    }
}
