/// How long a mount may take to stop after SIGTERM or SIGINT, and each phase's share: one
/// budget, shorter than the systemd unit's `TimeoutStopSec=45`, so that no phase's wait adds
/// up past it (an upload held by a slow server, with `--request-timeout 1h`, used to hold the
/// stop for as long). Each phase ends at its own instant, counted from the signal.
struct ShutdownBudget {
    /// From the signal to the exit, at most (a test holds the mount to it).
    static let total = Duration.seconds(40)
    /// Uploads in flight may finish until then; the mount is detached after.
    static let uploads = Duration.seconds(20)
    /// Requests still in flight when the FUSE loop ended may be answered until then.
    static let answers = Duration.seconds(30)
    /// Queued uploads (background mode) may finish until then; what is left stays queued on disk.
    static let queue = Duration.seconds(37)
    /// Queued uploads still in flight then are cancelled and awaited until this; their files
    /// stay queued on disk.
    static let queueStop = Duration.seconds(39)

    /// What the queue's stop may take once its drain has ended.
    static var queueStopShare: Duration { queueStop - queue }

    let signalled: ContinuousClock.Instant

    var uploadsEnd: ContinuousClock.Instant { signalled + Self.uploads }
    var answersEnd: ContinuousClock.Instant { signalled + Self.answers }
    var queueEnd: ContinuousClock.Instant { signalled + Self.queue }
    var queueStopEnd: ContinuousClock.Instant { signalled + Self.queueStop }
}
