import WeChatMedia

/// The emulator's count of metered calls today, for 45009 and `openapi/quota/get`. Days are the
/// platform's: they start at midnight in China (UTC+8), on the emulator's clock. Kept in memory:
/// a restarted emulator starts the day afresh.
actor QuotaBook {
    typealias Metered = MeteredAPI

    private let quota: DailyQuota
    private let clock: EmulatorClock
    private var day: Int64
    private var used: [Metered: Int64] = [:]

    init(quota: DailyQuota, clock: EmulatorClock) {
        self.quota = quota
        self.clock = clock
        self.day = Self.day(of: clock.now)
    }

    /// Counts one call of `api`; false (and not counted) once today's quota is used up.
    func consume(_ api: Metered) -> Bool {
        rollOver()
        guard used[api, default: 0] < limit(of: api) else { return false }
        used[api, default: 0] += 1
        return true
    }

    func reading(_ api: Metered) -> (dailyLimit: Int64, used: Int64, remain: Int64) {
        rollOver()
        let count = used[api, default: 0]
        return (limit(of: api), count, max(0, limit(of: api) - count))
    }

    func reset() {
        used = [:]
        day = Self.day(of: clock.now)
    }

    private func limit(of api: Metered) -> Int64 { quota[api] }

    private func rollOver() {
        let today = Self.day(of: clock.now)
        if today != day {
            day = today
            used = [:]
        }
    }

    private static func day(of seconds: Int64) -> Int64 { (seconds + 8 * 3600) / 86400 }
}
