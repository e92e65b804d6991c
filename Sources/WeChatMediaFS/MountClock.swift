#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time for the filesystem: file times, and the expiry of media (`created_at` + TTL).
/// Given to the filesystem, so tests advance it instead of sleeping.
public protocol MountClock: Sendable {
    /// Nanoseconds since 1970.
    func now() -> Int64
}

extension MountClock {
    /// Whole seconds since 1970, the unit of the server's `created_at`.
    var seconds: Int64 { now() / 1_000_000_000 }
}

/// The system's real-time clock.
public struct SystemClock: MountClock {
    public init() {}

    public func now() -> Int64 { timespec.now.nanoseconds }
}

/// The system's clock moved by an offset that may change: a fleet's hosts follow their shared
/// database's clock (its heartbeat measures the offset), so they agree on when media expire.
public struct OffsetClock: MountClock {
    private let offset: @Sendable () -> Int64

    public init(offset: @escaping @Sendable () -> Int64) {
        self.offset = offset
    }

    public func now() -> Int64 { SystemClock().now().saturatingAdd(offset()) }
}
