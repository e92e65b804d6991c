extension Duration {
    /// Whole milliseconds, the one unit log lines give times in (`24 ms`).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? .max : scaled &+ attoseconds / 1_000_000_000_000_000
    }
}
