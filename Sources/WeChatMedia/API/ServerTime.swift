/// Times the server states (`created_at`, in seconds since 1970) that this project believes. A
/// value outside the range is a broken or hostile answer: refused where it enters, and treated
/// as already expired where an older version stored one.
public enum ServerTime {
    /// 2000-01-01 up to (not including) 2100-01-01.
    public static let plausibleRange: ClosedRange<Int64> = 946_684_800...4_102_444_799

    public static func isPlausible(_ seconds: Int64) -> Bool { plausibleRange.contains(seconds) }
}
