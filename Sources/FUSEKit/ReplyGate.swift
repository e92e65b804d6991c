import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The one door a session's replies go through. It counts the requests in flight (admitted, not
/// yet answered) and the replies being sent, both under one lock; once it is closed every reply
/// is dropped, and `close` returns only when no reply is still being sent, so the session can be
/// destroyed without a reply touching it.
final class ReplyGate: Sendable {
    private struct State {
        var accepting = true
        var open = true
        var inFlight = 0
        var sending = 0
    }

    private let state = Mutex(State())
    let logger: Logger
    /// Told of each lookup reference the kernel takes by an answer, before the answer is sent
    /// (the filesystem's `referenced(inode:)`).
    let referenced: @Sendable (Inode) -> Void

    init(logger: Logger, referenced: @escaping @Sendable (Inode) -> Void) {
        self.logger = logger
        self.referenced = referenced
    }

    /// Counts a new request in flight; false once the session stopped accepting work, and the
    /// request should then be answered at once instead of being served.
    func admit() -> Bool {
        state.withLock { state in
            state.inFlight += 1
            return state.accepting
        }
    }

    /// Runs `reply`, a libfuse call that answers one request, unless the gate is closed.
    func send(_ reply: () -> Void) {
        let open = state.withLock { state in
            guard state.open else { return false }
            state.inFlight -= 1
            state.sending += 1
            return true
        }
        guard open else { return logger.debug("an answer came after the session ended: dropped") }
        reply()
        state.withLock { $0.sending -= 1 }
    }

    /// Stops accepting work; returns how many requests are in flight.
    func stopAccepting() -> Int {
        state.withLock { state in
            state.accepting = false
            return state.inFlight
        }
    }

    /// Blocks, polling, until no request is in flight or `limit` has passed; how many are left.
    func waitUntilAnswered(within limit: Duration) -> Int {
        let deadline = ContinuousClock.now + limit
        while true {
            let left = state.withLock { $0.inFlight }
            if left == 0 || ContinuousClock.now >= deadline { return left }
            usleep(10_000)
        }
    }

    /// Drops every later reply, then blocks until the replies being sent have been sent.
    func close() {
        state.withLock { $0.open = false }
        // A reply in progress is one writev to /dev/fuse: short, so polling is fine.
        while state.withLock({ $0.sending }) > 0 { usleep(1_000) }
    }
}
