/// An access token and when this process should stop using it. Its description never shows the value.
public struct AccessToken: Sendable, Equatable, CustomStringConvertible {
    public let value: String
    /// Past this instant the token is refreshed before use; nil for tokens managed elsewhere.
    public let refreshAfter: ContinuousClock.Instant?

    public init(value: String, refreshAfter: ContinuousClock.Instant?) {
        self.value = value
        self.refreshAfter = refreshAfter
    }

    public func isFresh(at now: ContinuousClock.Instant) -> Bool {
        refreshAfter.map { now < $0 } ?? true
    }

    public var description: String { "AccessToken(\(value.count) chars)" }
}

/// Where access tokens come from. Callers ask for the current token, and report one the server
/// refused (40001/40014/42001) so that the next request gets a fresh one.
public protocol AccessTokenProvider: Sendable {
    func currentToken() async throws -> AccessToken
    /// Drops `token` if it is still the one in use; a token another caller already replaced is left alone.
    func tokenWasRefused(_ token: AccessToken) async
    /// How long ago the token in use was obtained (for `wxmediafs status`); nil when there is none yet.
    func tokenAge() async -> Duration?
}
