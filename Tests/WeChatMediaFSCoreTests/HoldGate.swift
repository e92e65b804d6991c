import Synchronization

/// Calls that wait, while the gate is held, until it is released: how the in-memory services
/// hold uploads and adds, so a test looks at every state in between.
final class HoldGate: Sendable {
    private struct State {
        var holding = false
        var held: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Calls from now on wait until `release()`.
    func hold() { state.withLock { $0.holding = true } }

    /// Lets the waiting calls go on, and the next ones pass at once.
    func release() {
        let held = state.withLock { state in
            state.holding = false
            defer { state.held = [] }
            return state.held
        }
        held.forEach { $0.resume() }
    }

    /// Calls waiting for `release()`.
    var waiting: Int { state.withLock { $0.held.count } }

    /// Returns at once, or once released while the gate is held.
    func pass() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let wait = state.withLock { state in
                if state.holding { state.held.append(continuation) }
                return state.holding
            }
            if !wait { continuation.resume() }
        }
    }
}
