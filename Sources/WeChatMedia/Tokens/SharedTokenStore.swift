/// Where several hosts keep the one access token of an account, so that they do not fetch a token
/// each and invalidate one another's (the most reported bug of the WeChat SDKs: 40001 between two
/// servers). `AppSecretTokenProvider` uses it when given one; `PostgresTokenStore` (module
/// MediaCatalog) keeps it in PostgreSQL.
///
/// Times cross the store as durations measured by the store's own clock (see `TokenRecord`), so
/// hosts whose clocks disagree still agree on when the token is due.
public protocol SharedTokenStore: Sendable {
    /// The token stored now, if any, even one past its refresh time (the caller judges).
    func load() async throws -> TokenRecord?

    /// Runs `body` while holding the fleet's token lock, and stores what it returns. `body` is
    /// given the token stored once the lock was held (another host may have replaced it while
    /// this one waited); it returns that same record to keep it, or a newly fetched one to store
    /// in its place. The lock is waited for until `deadline` at most (then this throws), and held
    /// for `holdLimit` at most: a host that stalls holding it loses it, so the others go on.
    func withTokenLock(
        waitingUntil deadline: ContinuousClock.Instant, holdLimit: Duration,
        _ body: @Sendable (_ stored: TokenRecord?) async throws -> TokenRecord
    ) async throws -> TokenRecord

    /// Removes the stored token if it is still `value`; a token another host stored since is left
    /// alone (WxJava's rule: a refusal drops only the token that was refused).
    func remove(ifValue value: String) async throws
}
