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
