import Deadlines
import MediaCatalog
import Synchronization

/// Runs `body` and returns its result, or throws `CatalogError.unavailable` once `limit` has
/// passed, whichever comes first. The body runs in a task of its own and is cancelled at the
/// deadline, but not waited for: a call on a connection to a vanished server may take a TCP
/// timeout to end, and no filesystem call may wait that long.
func withDeadline<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = DeadlineOutcome<T>()
    // Not awaited (see above); cancelled on every way out.
    let work = Task {
        do { outcome.answer(.success(try await body())) } catch { outcome.answer(.failure(error)) }
    }
    defer { work.cancel() }
    let timedOut = Result<T, any Error>.failure(CatalogError.unavailable("no answer to \(what) within \(limit)"))
    let result = await outcome.waiters.wait(for: 0, until: .now + limit, timedOut: timedOut) { outcome.result }
    if case .failure = result, Task.isCancelled, outcome.result == nil { throw CancellationError() }
    return try result.get()
}

/// The body's result once it came, and the one waiter for it.
private final class DeadlineOutcome<T: Sendable>: Sendable {
    let waiters = Waiters<Int, Result<T, any Error>>()
    private let stored = Mutex<Result<T, any Error>?>(nil)

    var result: Result<T, any Error>? { stored.withLock { $0 } }

    func answer(_ result: Result<T, any Error>) {
        stored.withLock { $0 = result }
        waiters.answerAll(0, with: result)
    }
}
