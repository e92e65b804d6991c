/// When what failed for a reason that may pass (a draft's build, a queued upload) is tried again
/// by itself: after a first delay, doubled on each failure in a row, at most an hour apart, so
/// an outage of a day costs a few dozen tries, not a flood.
enum LaterTries {
    static let longestDelay = Duration.seconds(3600)

    /// The wait after the `failures`-th failure in a row (1 for the first).
    static func delay(first: Duration, failures: Int) -> Duration {
        min(longestDelay, first * (1 << min(max(failures, 1) - 1, 16)))
    }
}
