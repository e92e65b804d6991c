import EmulatorTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing
import WeChatMedia

/// Three hosts (a PostgresClient, a token provider and a client each) on one real PostgreSQL
/// database and one emulator on loopback: the token is fetched once for all of them.
@Suite("A fleet's one access token in PostgreSQL")
struct FleetTokenTests {
    typealias Fixture = EmulatorFixture

    enum Refusal: String, CaseIterable, Sendable {
        /// The emulator revokes every token: 40001.
        case retired
        /// The emulator's clock passes the token's expiry (the hosts' clocks do not): 42001.
        case expired
    }

    static func fetches(_ f: Fixture, _ endpoint: AppSecretTokenProvider.Endpoint) async throws -> Int {
        try await f.counters()[endpoint == .stable ? "stable_token" : "token", default: 0]
    }

    /// The token each host holds now (from its cache: asking does not fetch).
    static func heldTokens(_ hosts: [FleetHost]) async throws -> Set<String> {
        var values: Set<String> = []
        for host in hosts { values.insert(try await host.tokens.currentToken().value) }
        return values
    }

    @Test(
        "three hosts fetch one token for their work, and one more when all meet its refusal at once",
        arguments: [AppSecretTokenProvider.Endpoint.stable, .legacy], Refusal.allCases)
    func oneFetchForTheFleet(endpoint: AppSecretTokenProvider.Endpoint, refusal: Refusal) async throws {
        try await Fixture.with { f in
            try await withFleet(f, hosts: 3, endpoint: endpoint) { hosts in
                try await onEveryHost(hosts) { try await $0.work() }
                #expect(try await Self.fetches(f, endpoint) == 1)
                let first = try await Self.heldTokens(hosts)
                #expect(first.count == 1, "every host holds the one token")

                switch refusal {
                case .retired: try await f.retireTokens()
                case .expired: try await f.advanceClock(seconds: 7201)
                }
                let uploadsBefore = try await f.counters()["upload", default: 0]
                try await onEveryHost(hosts) { try await $0.work() }
                #expect(try await Self.fetches(f, endpoint) == 2, "one more fetch for the fleet, not one a host")
                let second = try await Self.heldTokens(hosts)
                #expect(second.count == 1 && second != first)
                #expect(try await hosts[0].store.load()?.value == second.first)
                // Each host met the refusal itself: its first upload refused and sent again, its second once.
                #expect(try await f.counters()["upload", default: 0] == uploadsBefore + 3 * 3)
                #expect(try await Self.fetches(f, endpoint == .stable ? .legacy : .stable) == 0)
            }
        }
    }

    /// The lock is held until the call returns: without its budget the call would never end,
    /// and the time limit ends the test instead.
    @Test(.timeLimit(.minutes(1))) func aHostWaitingForTheTokenLockGivesUpWithinItsBudget() async throws {
        let retry = RetryPolicy(
            maxAttempts: 2, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10), totalTime: .seconds(2))
        try await Fixture.with { f in
            try await withFleet(f, hosts: 2, retry: retry) { hosts in
                let (a, b) = (hosts[0], hosts[1])
                // B holds the fleet's lock, as a host stalled in the middle of a fetch would.
                try await b.postgres.withTransaction(logger: Logger(label: "test.fleet")) { connection in
                    try await connection.query(
                        "SELECT pg_advisory_xact_lock(hashtext('wxmediafs.token'), hashtext(current_schema()))",
                        logger: Logger(label: "test.fleet"))
                    let started = ContinuousClock.now
                    do {
                        _ = try await a.tokens.currentToken()
                        Issue.record("a token was had while another host held the lock")
                    } catch {
                        #expect(
                            error is TransportError, "an unreachable store reads as an unreachable server: \(error)")
                        // 55P03: lock_not_available, the lock wait cut at the retry deadline.
                        #expect("\(error)".contains("take the token lock") && "\(error)".contains("55P03"), "\(error)")
                    }
                    // It waited for the lock (no failing at once) and was cut by the lock
                    // timeout (55P03 above), not by the lock being freed.
                    let waited = started.duration(to: .now)
                    #expect(waited >= .seconds(1), "waited \(waited)")
                    #expect(try await Self.fetches(f, .stable) == 0)
                }
                // Once it is free, A takes it and fetches.
                _ = try await a.tokens.currentToken()
                #expect(try await Self.fetches(f, .stable) == 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(1))) func aStoreThatCannotBeReachedFailsCallsWithinTheirBudget() async throws {
        let retry = RetryPolicy(
            maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10), totalTime: .seconds(2))
        var logger = Logger(label: "test.fleet")
        logger.logLevel = .critical
        try await Fixture.with { (f: Fixture) async throws in
            // Nothing listens on port 9 of loopback: every connection is refused.
            let host = FleetHost(
                f,
                database: PostgresClient.Configuration(
                    host: "127.0.0.1", port: 9, username: "nobody", password: "x", database: "none", tls: .disable),
                retry: retry, logger: logger)
            let calls: [(String, @Sendable () async throws -> Void)] = [
                ("token", { _ = try await host.tokens.currentToken() }),
                ("upload", { _ = try await host.client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }),
            ]
            for (name, call) in calls {
                do {
                    try await call()
                    Issue.record("\(name) succeeded with no store")
                } catch {
                    // Told as a server that cannot be reached is (EIO), the store named where it is known.
                    #expect(error is TransportError, "\(name): \(error)")
                    #expect(name != "token" || "\(error)".contains("token store"), "\(error)")
                }
            }
            await host.stop()
            #expect(try await f.counters()["upload", default: 0] == 0)
            #expect(try await Self.fetches(f, .stable) == 0)
        }
    }

    @Test func withoutAStoreEachHostFetchesItsOwn() async throws {
        // The control for the counts above: three providers of their own fetch three tokens.
        try await Fixture.with { f in
            let clients = (0..<3).map { _ in f.makeClient(endpoint: .legacy) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask { _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.fetches(f, .legacy) == 3)
        }
    }

    @Test func aStaleRefusalDoesNotDropTheTokenThatReplacedIt() async throws {
        try await Fixture.with { f in
            try await withFleet(f, hosts: 2) { hosts in
                let (a, b) = (hosts[0], hosts[1])
                try await onEveryHost(hosts) { try await $0.work() }
                let old = try await b.tokens.currentToken()
                try await f.retireTokens()
                // A meets the refusal first and replaces the token for the fleet.
                _ = try await a.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                #expect(try await Self.fetches(f, .stable) == 2)
                let replacement = try await a.tokens.currentToken().value
                #expect(replacement != old.value)

                // B still holds the old one: its refusal must not drop A's.
                _ = try await b.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                #expect(try await Self.fetches(f, .stable) == 2, "B's refusal of the old token fetched nothing")
                #expect(try await b.tokens.currentToken().value == replacement)
                #expect(try await b.store.load()?.value == replacement)
                // Told again, directly, that the old value failed: still only that value goes.
                await b.tokens.tokenWasRefused(old)
                try await b.store.remove(ifValue: old.value)
                #expect(try await a.store.load()?.value == replacement)
                _ = try await a.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                #expect(try await Self.fetches(f, .stable) == 2, "nobody fetched for the stale refusal")

                // The refused value itself is removed.
                try await b.store.remove(ifValue: replacement)
                #expect(try await a.store.load() == nil)
            }
        }
    }
}
