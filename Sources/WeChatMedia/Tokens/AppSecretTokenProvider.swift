import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Tokens fetched with the app id and secret: cached, refreshed ahead of expiry, and single-flight
/// (however many callers need a token at once, one request goes out).
///
/// Given a `SharedTokenStore`, it is single-flight for a fleet of hosts too: a host whose token is
/// due reads the stored one; if that is due as well (or is the one this host saw refused), it takes
/// the store's lock, looks again, and fetches only if no other host did meanwhile. A refused
/// token is removed from the store only if it is still the one stored.
///
///     let store = PostgresTokenStore(client: postgres, logger: logger)   // module MediaCatalog
///     let tokens = AppSecretTokenProvider(
///         appID: appID, secret: secret, connection: connection, logger: logger, store: store)
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
    private let store: (any SharedTokenStore)?

    /// Longest access token accepted (the platform says to store up to 512 characters).
    public static let maxTokenLength = 512

    /// The token in use. Behind a lock of its own, not the actor: every request asks for it, and
    /// a fresh one is handed out on the caller's thread without a hop to the actor's.
    private let cached = Mutex<AccessToken?>(nil)
    private var cachedAt: ContinuousClock.Instant?
    private var inFlight: Task<Obtained, any Error>?
    /// The value last refused, so a stable-token fetch that returns it again is forced to renew.
    private var refusedValue: String?

    /// A token this host now holds, and when it was fetched (by this host or another).
    private struct Obtained: Sendable {
        var token: AccessToken
        var fetchedAt: ContinuousClock.Instant
    }

    /// `store`: where a fleet of hosts keeps its one token; nil for a host of its own, which
    /// keeps its token in memory only.
    public init(
        appID: String, secret: Secret, endpoint: Endpoint = .stable, connection: APIConnection,
        retry: RetryPolicy = .default, refreshMargin: Duration = .seconds(300), logger: Logger,
        store: (any SharedTokenStore)? = nil
    ) {
        self.appID = appID
        self.secret = secret
        self.endpoint = endpoint
        self.connection = connection
        self.retry = retry
        self.refreshMargin = refreshMargin
        self.logger = logger
        self.store = store
    }

    public nonisolated func currentToken() async throws -> AccessToken {
        if let fresh = freshToken() { return fresh }
        return try await renewedToken()
    }

    /// The token in use, unless it is due for renewal.
    private nonisolated func freshToken() -> AccessToken? {
        cached.withLock { $0?.isFresh(at: .now) == true ? $0 : nil }
    }

    private func renewedToken() async throws -> AccessToken {
        // Another caller may have renewed it while this one waited for the actor.
        if let fresh = freshToken() { return fresh }
        if let inFlight { return try await inFlight.value.token }
        let task = Task { try await self.obtain() }
        inFlight = task
        defer { inFlight = nil }
        let obtained = try await task.value
        let changed = cached.withLock { cached in
            defer { cached = obtained.token }
            return cached != obtained.token
        }
        if changed { cachedAt = obtained.fetchedAt }
        return obtained.token
    }

    private func obtain() async throws -> Obtained {
        guard let store else {
            let record = try await fetchWithRetries()
            return Obtained(token: record.accessToken(readAt: .now), fetchedAt: .now)
        }
        return try await obtainShared(from: store)
    }

    public func tokenAge() -> Duration? {
        guard cached.withLock({ $0 != nil }), let cachedAt else { return nil }
        return cachedAt.duration(to: .now)
    }

    public func tokenWasRefused(_ token: AccessToken) async {
        let dropped = cached.withLock { cached in
            guard cached == token else { return false }
            cached = nil
            return true
        }
        guard dropped else { return }
        refusedValue = token.value
        guard let store else { return }
        // Best effort: a host that cannot remove it still will not use it again (refusedValue is
        // judged under the lock too), and other hosts learn of the refusal from the server.
        do {
            try await Self.bounded("remove the refused token", by: .now + retry.budget) {
                try await store.remove(ifValue: token.value)
            }
        } catch {
            logger.warning("could not drop the refused token from the shared store", metadata: ["error": "\(error)"])
        }
    }

    private func fetchWithRetries() async throws -> TokenRecord {
        try await retry.run(logger: logger, operation: "token") { deadline in
            try await self.fetchOnce(forceRefresh: false, deadline: deadline)
        }
    }

    private func fetchOnce(forceRefresh: Bool, deadline: NIODeadline) async throws -> TokenRecord {
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
        return TokenRecord(value: value, refreshIn: lifetime - margin, expiresIn: lifetime)
    }

    // MARK: A token shared by a fleet

    /// The stored token if it can be used; else, under the store's lock, the stored one if another
    /// host replaced it while this one waited, or one fetched from the server and stored.
    private func obtainShared(from store: any SharedTokenStore) async throws -> Obtained {
        let budget = retry.budget
        let deadline = ContinuousClock.now + budget
        if let stored = try await Self.bounded("read the shared token", by: deadline, { try await store.load() }),
            isUsable(stored)
        {
            return adopt(stored)
        }
        let record: TokenRecord
        do {
            // Held through the fetch (bounded by the retry budget) and the write; the slack covers those.
            record = try await store.withTokenLock(waitingUntil: deadline, holdLimit: budget + .seconds(10)) {
                stored in
                do {
                    if let stored, await self.isUsable(stored) { return stored }
                    return try await self.fetchWithRetries()
                } catch {
                    throw FetchFailure(error: error)
                }
            }
        } catch let failure as FetchFailure {
            throw failure.error
        } catch {
            throw Self.storeFailure("lock the shared token", error)
        }
        return adopt(record)
    }

    /// Whether a stored token may be used: not due for refresh, and not the one this host saw refused.
    private func isUsable(_ stored: TokenRecord) -> Bool {
        stored.refreshIn > .zero && stored.value != refusedValue
    }

    private func adopt(_ record: TokenRecord) -> Obtained {
        if record.value != refusedValue { refusedValue = nil }
        let now = ContinuousClock.now
        return Obtained(token: record.accessToken(readAt: now), fetchedAt: now - max(record.age, .zero))
    }

    /// A failure of the fetch made under the lock, kept apart from the store's own failures.
    private struct FetchFailure: Error {
        let error: any Error
    }

    /// Runs a store call, given up at `deadline` (a store that cannot be reached must not hold the
    /// caller longer than a server that cannot).
    private static func bounded<T: Sendable>(
        _ what: String, by deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let remaining = TimeAmount(max(ContinuousClock.now.duration(to: deadline), .zero))
        do {
            return try await APIConnection.bounded(by: NIODeadline.now() + remaining, body)
        } catch is TransportError {
            // Only the deadline's timer throws one here; its words are about replies from the server.
            throw TransportError.connection("token store: cannot \(what): no answer by the deadline")
        } catch {
            throw storeFailure(what, error)
        }
    }

    /// A store failure as a connection failure: retried within the caller's budget, then EIO, as
    /// when the server cannot be reached.
    private static func storeFailure(_ what: String, _ error: any Error) -> any Error {
        if error is CancellationError { return error }
        return TransportError.connection("token store: cannot \(what): \(error)")
    }
}
