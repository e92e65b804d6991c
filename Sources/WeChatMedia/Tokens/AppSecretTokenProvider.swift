import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Tokens fetched with the app id and secret: cached, refreshed ahead of expiry, and single-flight
/// (however many callers need a token at once, one request goes out).
public actor AppSecretTokenProvider: AccessTokenProvider {
    public enum Endpoint: String, Sendable {
        /// `POST /cgi-bin/stable_token`: the same token for every process until it is renewed, so
        /// several mounts of one account do not invalidate each other.
        case stable
        /// `GET /cgi-bin/token`: every fetch invalidates the previous token after 5 minutes.
        case legacy
    }

    private let appID: String
    private let secret: Secret
    private let endpoint: Endpoint
    private let connection: APIConnection
    private let retry: RetryPolicy
    private let refreshMargin: Duration
    private let logger: Logger

    /// Longest access token accepted (the platform says to store up to 512 characters).
    public static let maxTokenLength = 512

    private var cached: AccessToken?
    private var cachedAt: ContinuousClock.Instant?
    private var inFlight: Task<AccessToken, any Error>?
    /// The value last refused, so a stable-token fetch that returns it again is forced to renew.
    private var refusedValue: String?

    public init(
        appID: String, secret: Secret, endpoint: Endpoint = .stable, connection: APIConnection,
        retry: RetryPolicy = .default, refreshMargin: Duration = .seconds(300), logger: Logger
    ) {
        self.appID = appID
        self.secret = secret
        self.endpoint = endpoint
        self.connection = connection
        self.retry = retry
        self.refreshMargin = refreshMargin
        self.logger = logger
    }

    public func currentToken() async throws -> AccessToken {
        if let cached, cached.isFresh(at: .now) { return cached }
        if let inFlight { return try await inFlight.value }
        let task = Task { try await self.fetchWithRetries() }
        inFlight = task
        defer { inFlight = nil }
        let token = try await task.value
        if cached != token { cachedAt = .now }
        cached = token
        return token
    }

    public func tokenAge() -> Duration? {
        guard cached != nil, let cachedAt else { return nil }
        return cachedAt.duration(to: .now)
    }

    public func tokenWasRefused(_ token: AccessToken) {
        guard cached == token else { return }
        cached = nil
        refusedValue = token.value
    }

    private func fetchWithRetries() async throws -> AccessToken {
        try await retry.run(logger: logger, operation: "token") { deadline in
            try await self.fetchOnce(forceRefresh: false, deadline: deadline)
        }
    }

    private func fetchOnce(forceRefresh: Bool, deadline: NIODeadline) async throws -> AccessToken {
        let reply: APIReply
        switch endpoint {
        case .legacy:
            let query = QueryString.encode([
                ("grant_type", "client_credential"), ("appid", appID), ("secret", secret.value),
            ])
            reply = try await connection.jsonRequest(path: "/cgi-bin/token", query: query, deadline: deadline)
        case .stable:
            let body: [String: any Sendable] = [
                "grant_type": "client_credential", "appid": appID, "secret": secret.value,
                "force_refresh": forceRefresh,
            ]
            let data = try JSONSerialization.data(withJSONObject: body)
            reply = try await connection.jsonRequest(
                path: "/cgi-bin/stable_token", query: "", method: .POST,
                body: ByteBuffer(bytes: data), contentType: "application/json", deadline: deadline)
        }
        if let error = reply.error { throw error }
        guard let value = reply.accessToken, !value.isEmpty else {
            throw TransportError.invalidResponse("token reply without access_token")
        }
        // Judged before use and never retried: asking again would bring the same answer. The
        // token's value is a credential, so the message does not show it.
        guard OpaqueID.isWellFormed(value, maxLength: Self.maxTokenLength) else {
            throw FinalFailure(
                TransportError.invalidResponse(
                    "token reply: access_token of \(value.utf8.count) bytes is not 1-\(Self.maxTokenLength) "
                        + "characters [A-Za-z0-9_-]"))
        }
        let lifetimeSeconds: Int64
        do {
            lifetimeSeconds = try reply.tokenLifetimeSeconds()
        } catch {
            throw FinalFailure(error)
        }
        if endpoint == .stable, !forceRefresh, value == refusedValue {
            logger.info("stable token was refused before; forcing a refresh")
            return try await fetchOnce(forceRefresh: true, deadline: deadline)
        }
        refusedValue = nil
        // At most a week (APIReply.plausibleTokenLifetime), so these sums cannot overflow.
        let lifetime = Duration.seconds(lifetimeSeconds)
        let margin = min(max(refreshMargin, .zero), lifetime / 2)
        logger.debug(
            "fetched access token",
            metadata: ["endpoint": "\(endpoint.rawValue)", "expires_in": "\(lifetimeSeconds)"])
        return AccessToken(value: value, refreshAfter: .now + lifetime - margin)
    }
}
