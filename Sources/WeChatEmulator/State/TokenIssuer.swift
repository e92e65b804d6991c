import Foundation
import WeChatMedia

/// Issues and judges access tokens the way the platform does: `/cgi-bin/token` makes a new token
/// each time and retires the previous one after an overlap; `/cgi-bin/stable_token` hands out the
/// same token until 5 minutes before it expires, and renews it at once only when forced (at most
/// 20 times a day, 30 s apart). The two kinds are independent. State survives restarts.
actor TokenIssuer {
    struct Issued: Codable {
        var expiresAt: Int64
        /// Set when a newer token replaced this one: it stops working at this time.
        var retiredAt: Int64?
    }

    struct State: Codable {
        var tokens: [String: Issued] = [:]
        var currentLegacy: String?
        var currentStable: String?
        var forcedRefreshes: [Int64] = []
    }

    struct Grant {
        var token: String
        var expiresIn: Int64
    }

    private let configuration: EmulatorConfiguration
    private let clock: EmulatorClock
    private let statePath: String
    private var state: State

    init(configuration: EmulatorConfiguration, clock: EmulatorClock) {
        self.configuration = configuration
        self.clock = clock
        self.statePath = configuration.dataDirectory + "/tokens.json"
        if let data = FileManager.default.contents(atPath: statePath),
            let saved = try? JSONDecoder().decode(State.self, from: data)
        {
            self.state = saved
        } else {
            self.state = State()
        }
    }

    /// A new `/cgi-bin/token` token; the previous one keeps working for the overlap only.
    func issueLegacy() -> Grant {
        let now = clock.now
        if let previous = state.currentLegacy, var old = state.tokens[previous] {
            // One retired already (by `retireAll`) stays retired from its own time.
            old.retiredAt = min(old.retiredAt ?? old.expiresAt, old.expiresAt, now + configuration.tokenOverlapSeconds)
            state.tokens[previous] = old
        }
        let token = RandomIDs.accessToken()
        state.tokens[token] = Issued(expiresAt: now + configuration.tokenLifetimeSeconds)
        state.currentLegacy = token
        save(now: now)
        return Grant(token: token, expiresIn: configuration.tokenLifetimeSeconds)
    }

    /// The stable token: the current one while more than the overlap remains, else a new one.
    enum StableAnswer {
        case granted(Grant)
        case refused(WeChatErrorCode)
    }

    func issueStable(forceRefresh: Bool) -> StableAnswer {
        let now = clock.now
        if forceRefresh {
            state.forcedRefreshes.removeAll { $0 <= now - 24 * 3600 }
            if let last = state.forcedRefreshes.last, now - last < 30 { return .refused(.minuteQuotaExceeded) }
            if state.forcedRefreshes.count >= 20 { return .refused(.dailyQuotaExceeded) }
            state.forcedRefreshes.append(now)
        } else if let current = state.currentStable, let issued = state.tokens[current], issued.retiredAt == nil,
            issued.expiresAt - now > configuration.tokenOverlapSeconds
        {
            return .granted(Grant(token: current, expiresIn: issued.expiresAt - now))
        }
        if let previous = state.currentStable, var old = state.tokens[previous], forceRefresh {
            old.retiredAt = now
            state.tokens[previous] = old
        }
        let token = RandomIDs.accessToken()
        state.tokens[token] = Issued(expiresAt: now + configuration.tokenLifetimeSeconds)
        state.currentStable = token
        save(now: now)
        return .granted(Grant(token: token, expiresIn: configuration.tokenLifetimeSeconds))
    }

    /// Nil when `token` may call the API now, else the errcode that refuses it.
    func judge(_ token: String?) -> WeChatErrorCode? {
        guard let token, !token.isEmpty else { return .accessTokenMissing }
        guard OpaqueID.isWellFormed(token, maxLength: 512) else { return .invalidAccessToken }
        let now = clock.now
        guard let issued = state.tokens[token] else { return .invalidCredential }
        if let retiredAt = issued.retiredAt, retiredAt <= now, retiredAt < issued.expiresAt {
            return .invalidCredential
        }
        if issued.expiresAt <= now { return .accessTokenExpired }
        return nil
    }

    /// Makes every token issued so far refused with 40001 from now on, as when the platform
    /// revokes them (a secret reset, another client forcing a refresh); new ones are issued next.
    func retireAll() -> Int {
        let now = clock.now
        var retired = 0
        for (token, var issued) in state.tokens where issued.expiresAt > now {
            issued.retiredAt = min(issued.retiredAt ?? now, now)
            state.tokens[token] = issued
            retired += 1
        }
        save(now: now)
        return retired
    }

    func reset() {
        state = State()
        save(now: clock.now)
    }

    private func save(now: Int64) {
        // Forget tokens dead for a day; their refusal reads the same as an unknown token's.
        state.tokens = state.tokens.filter { $0.value.expiresAt > now - 24 * 3600 }
        if let data = try? JSONEncoder().encode(state) {
            try? AtomicFile.write(data, to: statePath)
        }
    }
}
