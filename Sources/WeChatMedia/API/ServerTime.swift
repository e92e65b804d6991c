/// The range of server timestamps this project believes. A `created_at` outside it is a broken or
/// hostile server's, and one that got in would overflow the sums made with it later (expiry is
/// `created_at + TTL`), so uploads refuse it and the filesystem treats an old catalog row that
/// holds one as already expired.
public enum ServerTime {
    /// 2000-01-01T00:00:00Z up to the last second before 2100-01-01T00:00:00Z, in Unix seconds.
    /// The platform started in 2012; the end leaves room for any TTL this program accepts (at
    /// most 10 years).
    public static let plausibleRange: ClosedRange<Int64> = 946_684_800...4_102_444_799

    /// The range as people read it, for error messages.
    public static let plausibleRangeDescription = "2000-01-01 ..< 2100-01-01"

    public static func isPlausible(_ unixSeconds: Int64) -> Bool { plausibleRange.contains(unixSeconds) }
}
