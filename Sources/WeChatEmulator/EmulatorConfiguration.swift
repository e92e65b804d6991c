import WeChatMedia

/// How an emulator instance is set up; the command line fills it from its flags.
public struct EmulatorConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; the bound one is reported once the server runs.
    public var port: Int
    public var dataDirectory: String
    public var appID: String
    public var secret: Secret
    public var limits: LimitsProfile
    /// Serves `/_emulator/` (clock, faults, counters, whitelist, secret, reset). Off unless asked for.
    public var testControls: Bool
    /// Calls a day before the metered APIs answer 45009; the documented ones of `limits` unless given.
    public var dailyQuota: DailyQuota
    /// How long media live after `created_at`: the platform's 3 days.
    public var mediaLifetimeSeconds: Int64 = 3 * 24 * 3600
    /// How long a `freepublish/submit` job stays publishing (status 1) on the emulator's clock.
    public var publishSeconds: Int64 = 10
    /// How many permanent materials each type may hold (45034 past it).
    public var materialCaps: MaterialCaps = .documented
    /// `expires_in` of every token.
    public var tokenLifetimeSeconds: Int64 = 7200
    /// How long a token stays valid after a newer `/cgi-bin/token` fetch replaced it.
    public var tokenOverlapSeconds: Int64 = 300

    public init(
        host: String = "127.0.0.1", port: Int = 8088, dataDirectory: String, appID: String, secret: Secret,
        limits: LimitsProfile = .seed, testControls: Bool = false, dailyQuota: DailyQuota? = nil
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.appID = appID
        self.secret = secret
        self.limits = limits
        self.testControls = testControls
        self.dailyQuota = dailyQuota ?? .documented(for: limits)
    }
}
