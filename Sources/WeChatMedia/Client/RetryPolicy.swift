import Deadlines
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

    /// The longest `totalTime` honoured (a longer one is cut to it): a day is more than any
    /// request needs, and keeps deadline sums (`now + totalTime`) far from overflow.
    public static let longestTotalTime = Duration.seconds(86400)

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
        case is FinalFailure: false
        case let error as APIError: error.kind == .retryable || error.kind == .quota
        case let error as TransportError: error.isRetryable
        default: false
        }
    }

    /// Whether a whole call (its retries spent) that failed with `error` is worth making again
    /// later, by itself: a refusal another try may cure, of a request the server did not act on.
    /// Not one with no reply in time, a reply cut off, or a reply that is not the API's: a
    /// request that may have been acted on is never sent again unasked (a second draft, media
    /// or material). A call out of time (an outage longer than its retries) may pass: a call
    /// that must not be repeated ends at once when a try may have reached the server, so one
    /// that ran out of time had only tries that did not (as far as the client can tell: a
    /// request on a kept-alive connection the server closed, see `APIConnection.send`).
    public static func mayPassLater(_ error: any Error) -> Bool {
        switch error as? TransportError {
        case .deadlineExceeded?: true
        case .noReply?, .cutOff?, .invalidResponse?: false
        default: isRetryable(error)
        }
    }

    /// Runs `body` until it succeeds, fails for good, or time or tries run out. `body` gets the
    /// deadline its attempt must finish by. A `FinalFailure` ends it at once with the error inside.
    public func run<T>(
        isolation: isolated (any Actor)? = #isolation,
        logger: Logger, operation: String, _ body: (NIODeadline) async throws -> T
    ) async throws -> T {
        let budget = self.budget
        let ceiling = Swift.min(Swift.max(maxBackoff, .zero), Self.longestTotalTime)
        let clock = ContinuousClock()
        let end = clock.now + budget
        let deadline = NIODeadline.now() + TimeAmount(budget)
        var backoff = Swift.min(Swift.max(initialBackoff, .zero), ceiling)
        var attempt = 1
        while true {
            do {
                return try await body(deadline)
            } catch let failure as FinalFailure {
                throw failure.error
            } catch {
                let remaining = clock.now.duration(to: end)
                if remaining <= .zero, Self.isRetryable(error) {
                    throw TransportError.deadlineExceeded(seconds: budget.inSeconds)
                }
                guard Self.isRetryable(error), attempt < maxAttempts else { throw error }
                let pause = Self.jittered(backoff)
                guard pause < remaining else { throw error }
                logger.debug(
                    "retrying after a transient failure",
                    metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "error": "\(error)"])
                APIMetrics.retried(operation)
                try await Task.sleep(for: pause)
                // Doubled up to the ceiling only, so however many attempts are allowed it cannot overflow.
                backoff = backoff < ceiling / 2 ? backoff * 2 : ceiling
                attempt += 1
            }
        }
    }

    /// `totalTime` within `0...longestTotalTime`: the fields are public and set directly
    /// (MountRunner sets totalTime), so they are bounded where they are used.
    var budget: Duration { Swift.min(Swift.max(totalTime, .zero), Self.longestTotalTime) }

    private static func jittered(_ ceiling: Duration) -> Duration {
        let nanos = ceiling.wholeNanoseconds
        guard nanos > 1 else { return ceiling }
        return .nanoseconds(Int64.random(in: nanos / 2...nanos))
    }
}

/// A failure another try cannot cure although its type alone says it might: a reply that arrived
/// whole but states something that cannot be true (a `created_at` in the year 292 billion, a media
/// id of `../x`). Sending the request again would upload the file again or fetch the same answer;
/// `RetryPolicy.run` throws `error` at once instead. It never leaves this module.
struct FinalFailure: Error {
    let error: any Error
    init(_ error: any Error) { self.error = error }
}

extension TimeAmount {
    init(_ duration: Duration) { self = .nanoseconds(duration.wholeNanoseconds) }
}
