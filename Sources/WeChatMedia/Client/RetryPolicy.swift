import Logging
import NIOCore

/// Bounded retries with exponential backoff and full jitter. Only failures that another try may
/// cure are retried (errcode -1, 5xx, cut connections, timeouts, quota); the whole call, waits
/// included, ends by `totalTime`, so no caller waits without bound.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var totalTime: Duration

    public init(maxAttempts: Int, initialBackoff: Duration, maxBackoff: Duration, totalTime: Duration) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.totalTime = totalTime
    }

    public static let `default` = RetryPolicy(
        maxAttempts: 6, initialBackoff: .milliseconds(200), maxBackoff: .seconds(5), totalTime: .seconds(30))

    /// Whether `error` may go away on another try.
    public static func isRetryable(_ error: any Error) -> Bool {
        switch error {
        case let error as APIError: error.kind == .retryable || error.kind == .quota
        case let error as TransportError: error.isRetryable
        default: false
        }
    }

    /// Runs `body` until it succeeds, fails for good, or time or tries run out. `body` gets the
    /// deadline its attempt must finish by.
    public func run<T>(
        isolation: isolated (any Actor)? = #isolation,
        logger: Logger, operation: String, _ body: (NIODeadline) async throws -> T
    ) async throws -> T {
        let clock = ContinuousClock()
        let end = clock.now + totalTime
        let deadline = NIODeadline.now() + TimeAmount(totalTime)
        var backoff = initialBackoff
        var attempt = 1
        while true {
            do {
                return try await body(deadline)
            } catch {
                let remaining = clock.now.duration(to: end)
                if remaining <= .zero, Self.isRetryable(error) {
                    throw TransportError.deadlineExceeded(seconds: totalTime.seconds)
                }
                guard Self.isRetryable(error), attempt < maxAttempts else { throw error }
                let pause = Self.jittered(min(backoff, maxBackoff))
                guard pause < remaining else { throw error }
                logger.debug(
                    "retrying after a transient failure",
                    metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: pause)
                backoff = backoff * 2
                attempt += 1
            }
        }
    }

    private static func jittered(_ ceiling: Duration) -> Duration {
        let nanos = ceiling.nanoseconds
        guard nanos > 1 else { return ceiling }
        return .nanoseconds(Int64.random(in: nanos / 2...nanos))
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var seconds: Double { Double(nanoseconds) / 1e9 }
}

extension TimeAmount {
    init(_ duration: Duration) { self = .nanoseconds(duration.nanoseconds) }
}
