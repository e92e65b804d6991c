import Synchronization

/// Tasks waiting for something named by a key, each until it is answered, its deadline
/// passes or its task is cancelled, whichever comes first; a waiter never outlives its
/// deadline, whatever the thing it waits for does. Only the party that takes a waiter out
/// of the table answers it, so each is answered exactly once.
public final class Waiters<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        var nextTicket: UInt64 = 0
        var waiting: [Key: [UInt64: CheckedContinuation<Value, Never>]] = [:]
        /// Tickets not answered yet, and answers that came before their waiter was stored.
        var pending: [UInt64: Value?] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Waits until `answerAll(key, with:)`, or until `deadline` (then `timedOut`). `done` is
    /// asked once the waiter is in the table: an answer it gives ends the wait at once (what
    /// was awaited may have happened before the waiter was stored). The task's cancellation
    /// ends the wait too (with `timedOut`), unless `untilAnswered`: a wait for a turn that is
    /// owed whatever happens (a ticket taken must be served, in line).
    public func wait(
        for key: Key, until deadline: ContinuousClock.Instant?, timedOut: Value, untilAnswered: Bool = false,
        done: @escaping @Sendable () -> Value?
    ) async -> Value {
        let ticket = state.withLock { state in
            state.nextTicket += 1
            state.pending[state.nextTicket] = .some(nil)
            return state.nextTicket
        }
        let timer = deadline.map { deadline in
            Task {
                guard (try? await Task.sleep(until: deadline)) != nil else { return }
                self.answer(ticket, of: key, with: timedOut)
            }
        }
        defer { timer?.cancel() }
        let suspend = {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
                let early = self.state.withLock { state -> Value? in
                    if let answered = state.pending[ticket] ?? nil {
                        state.pending[ticket] = nil
                        return answered
                    }
                    state.waiting[key, default: [:]][ticket] = continuation
                    return nil
                }
                if let early { return continuation.resume(returning: early) }
                if let value = done() { self.answer(ticket, of: key, with: value) }
            }
        }
        if untilAnswered { return await suspend() }
        return await withTaskCancellationHandler(operation: suspend) {
            answer(ticket, of: key, with: timedOut)
        }
    }

    /// Answers every waiter of `key` with `value`.
    public func answerAll(_ key: Key, with value: Value) {
        let continuations = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard let waiting = state.waiting.removeValue(forKey: key) else { return [] }
            for ticket in waiting.keys { state.pending[ticket] = nil }
            return Array(waiting.values)
        }
        continuations.forEach { $0.resume(returning: value) }
    }

    /// Answers one waiter, if it still waits; an answer that comes before the waiter is stored
    /// is kept for it.
    private func answer(_ ticket: UInt64, of key: Key, with value: Value) {
        let continuation = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard state.pending[ticket] != nil else { return nil }
            if let continuation = state.waiting[key]?.removeValue(forKey: ticket) {
                if state.waiting[key]?.isEmpty == true { state.waiting[key] = nil }
                state.pending[ticket] = nil
                return continuation
            }
            if case .some(.none) = state.pending[ticket] { state.pending[ticket] = .some(value) }
            return nil
        }
        continuation?.resume(returning: value)
    }
}
