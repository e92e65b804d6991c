import Deadlines
import Synchronization

/// Turns, first come first served, for work that spans suspension points (an upload): what an
/// actor alone does not give, since an actor lets other calls in at every `await`.
/// `acquire` takes a ticket and waits for its turn; `release` passes the turn to the next
/// ticket.
final class ExclusiveAccess: Sendable {
    private struct Tickets {
        var next: UInt64 = 0
        var serving: UInt64 = 0
    }

    private let tickets = Mutex(Tickets())
    private let turns = Waiters<UInt64, Void>()

    /// Returns when the turn is the caller's, even if its task is cancelled meanwhile: a
    /// ticket taken is a turn that must be released, in line.
    func acquire() async {
        let ticket = tickets.withLock { tickets in
            defer { tickets.next += 1 }
            return tickets.next
        }
        guard !isServing(ticket) else { return }
        // A task of its own, which the caller's cancellation does not reach.
        await Task {
            await turns.wait(for: ticket, until: nil, timedOut: ()) { self.isServing(ticket) ? () : nil }
        }.value
    }

    func release() {
        let next = tickets.withLock { tickets in
            tickets.serving += 1
            return tickets.serving
        }
        turns.answerAll(next, with: ())
    }

    private func isServing(_ ticket: UInt64) -> Bool {
        tickets.withLock { $0.serving == ticket }
    }
}
