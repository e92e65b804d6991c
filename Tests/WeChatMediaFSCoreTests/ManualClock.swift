import Synchronization
import WeChatMediaFS

/// A wall clock that moves only when the test says so: expiry is tested by advancing it.
final class ManualClock: MountClock {
    private let nanoseconds: Mutex<Int64>

    init(seconds: Int64) { nanoseconds = Mutex(seconds * 1_000_000_000) }

    func now() -> Int64 { nanoseconds.withLock { $0 } }

    var seconds: Int64 { now() / 1_000_000_000 }

    func advance(seconds: Int64) { nanoseconds.withLock { $0 += seconds * 1_000_000_000 } }
}
