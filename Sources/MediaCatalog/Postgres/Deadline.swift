import Synchronization

/// Runs `body` and returns its result, or throws `CatalogError.unavailable` once `limit` has
/// passed, whichever comes first. The body runs in a task of its own and is cancelled at the
/// deadline, but not waited for: a call on a connection to a vanished server may take a TCP
/// timeout to end, and no filesystem call may wait that long.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.start(continuation, limit: limit, what: what, body)
        }
    } onCancel: {
        race.cancel()
    }
}

/// The two contenders of `withDeadline` and the one continuation the first of them resumes.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func start(
        _ continuation: CheckedContinuation<T, any Error>, limit: Duration, what: String,
        _ body: @escaping @Sendable () async throws -> T
    ) {
        state.withLock { $0.continuation = continuation }
        let timer = Task {
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            self.finish(.failure(CatalogError.unavailable("no answer to \(what) within \(limit)")))
        }
        let work = Task {
            do { self.finish(.success(try await body())) } catch { self.finish(.failure(error)) }
        }
        let (cancelled, finished) = state.withLock { state in
            state.work = work
            state.timer = timer
            return (state.cancelled, state.continuation == nil)
        }
        if finished { timer.cancel() }
        if cancelled { work.cancel() }
    }

    func cancel() {
        let work = state.withLock { state in
            state.cancelled = true
            return state.work
        }
        work?.cancel()
    }

    private func finish(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.work, state.timer)
        }
        guard let continuation else { return }
        timer?.cancel()
        work?.cancel()
        continuation.resume(with: result)
    }
}
