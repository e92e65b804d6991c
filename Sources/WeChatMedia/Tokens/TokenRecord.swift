/// An access token with its times told as durations from the moment it was read. A token kept
/// for several hosts cannot carry a `ContinuousClock` instant (that clock is per process), and
/// the hosts' wall clocks may disagree: the store measures these against its own clock when it
/// reads the token, and the reader turns them into instants of its own. Its description never
/// shows the value.
public struct TokenRecord: Sendable, Equatable, CustomStringConvertible {
    public let value: String
    /// How long until the token should be replaced (a margin before `expiresIn`).
    public let refreshIn: Duration
    /// How long until the server stops taking it.
    public let expiresIn: Duration
    /// How long ago it was fetched from the server.
    public let age: Duration

    public init(value: String, refreshIn: Duration, expiresIn: Duration, age: Duration = .zero) {
        self.value = value
        self.refreshIn = refreshIn
        self.expiresIn = expiresIn
        self.age = age
    }

    /// The token as this process uses it, refreshed `refreshIn` after `now`.
    func accessToken(readAt now: ContinuousClock.Instant) -> AccessToken {
        AccessToken(value: value, refreshAfter: now + refreshIn)
    }

    public var description: String { "TokenRecord(\(value.count) chars, refresh in \(refreshIn))" }
}
