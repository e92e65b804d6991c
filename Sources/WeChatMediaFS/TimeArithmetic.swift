#if canImport(Glibc)
import Glibc
#endif

/// Times come from the server, the catalog and the kernel (`touch -d`): sums and conversions
/// saturate instead of trapping, so no value can crash the daemon.
extension Int64 {
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}

extension timespec {
    init(nanoseconds: Int64) {
        self.init(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    init(seconds: Int64) {
        self.init(tv_sec: Int(seconds), tv_nsec: 0)
    }

    /// Nanoseconds since 1970, clamped to what an Int64 holds (about 1678 to 2262).
    var nanoseconds: Int64 {
        let (scaled, overflow) = Int64(tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return tv_sec > 0 ? .max : .min }
        return scaled.saturatingAdd(Int64(tv_nsec))
    }
}
