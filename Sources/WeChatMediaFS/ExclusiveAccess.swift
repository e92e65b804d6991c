import Synchronization

/// Turns, first come first served, for work that spans suspension points (an upload): what an
/// actor alone does not give, since an actor lets other calls in at every `await`.
/// `acquire` waits for the turn; `release` passes it on to the next waiter.
final class ExclusiveAccess: Sendable {
    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func acquire() async {
        let took = state.withLock { state in
            guard !state.held else { return false }
            state.held = true
            return true
        }
        if took { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let tookMeanwhile = state.withLock { state in
                guard state.held else {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if tookMeanwhile { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.held = false
                return nil
            }
            // The turn goes straight to the next waiter: `held` stays true.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
