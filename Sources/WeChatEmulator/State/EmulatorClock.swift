import Foundation
import Synchronization

/// The emulator's idea of now: the wall clock plus an offset that tests may advance, so token and
/// media expiry can be exercised without waiting hours or days.
public final class EmulatorClock: Sendable {
    private let offsetSeconds = Mutex<Int64>(0)

    public init() {}

    /// Seconds since 1970, as `created_at` reports them.
    public var now: Int64 { Int64(Date().timeIntervalSince1970) + offsetSeconds.withLock { $0 } }

    public func advance(bySeconds seconds: Int64) {
        offsetSeconds.withLock { $0 += seconds }
    }

    public func reset() {
        offsetSeconds.withLock { $0 = 0 }
    }
}
