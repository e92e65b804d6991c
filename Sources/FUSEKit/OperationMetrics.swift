import CoreMetrics
import Deadlines
import Synchronization

/// How long the kernel's requests wait for their answers, by operation, for the metrics endpoint
/// (whatever swift-metrics backend the process bootstrapped; none records nothing). One timer per
/// operation, made on first use: a request costs a dictionary look-up, not a registry's.
enum OperationMetrics {
    private static let timers = Mutex<[String: CoreMetrics.Timer]>([:])

    static func answered(_ operation: StaticString, receivedAt: ContinuousClock.Instant) {
        let nanoseconds = receivedAt.duration(to: .now).wholeNanoseconds
        timer(for: operation.description).recordNanoseconds(nanoseconds)
    }

    private static func timer(for operation: String) -> CoreMetrics.Timer {
        timers.withLock { timers in
            if let timer = timers[operation] { return timer }
            let timer = CoreMetrics.Timer(
                label: "wxmediafs_fuse_operation_duration_seconds", dimensions: [("operation", operation)])
            timers[operation] = timer
            return timer
        }
    }
}
