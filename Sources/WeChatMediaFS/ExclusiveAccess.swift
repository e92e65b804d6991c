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
        // Every write takes a turn: a free one costs one lock, no waiter.
        let (ticket, isFree) = tickets.withLock { tickets in
            defer { tickets.next += 1 }
            return (tickets.next, tickets.next == tickets.serving)
        }
        guard !isFree else { return }
        await turns.wait(for: ticket, until: nil, timedOut: (), untilAnswered: true) {
            self.tickets.withLock { $0.serving == ticket } ? () : nil
        }
    }

    /// Takes the turn if it is free, without waiting; false when someone holds it or waits.
    func tryAcquire() -> Bool {
        tickets.withLock { tickets in
            guard tickets.next == tickets.serving else { return false }
            tickets.next += 1
            return true
        }
    }

    func release() {
        let next = tickets.withLock { tickets -> UInt64? in
            tickets.serving += 1
            // No ticket taken since: no one waits for this turn.
            return tickets.serving == tickets.next ? nil : tickets.serving
        }
        if let next { turns.answerAll(next, with: ()) }
    }
}
