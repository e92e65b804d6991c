import EmulatorTestSupport
import Foundation
import Testing
import WeChatMedia

/// A 45009 that one host meets pauses every host's uploads, judged by PostgreSQL's clock.
@Suite("A fleet's upload pause in PostgreSQL")
struct FleetUploadPauseTests {
    typealias Fixture = EmulatorFixture

    static func uploads(_ f: Fixture) async throws -> Int { try await f.counters()["upload", default: 0] }

    /// The quota error a paused or refused upload ends with (EAGAIN in the filesystem), or nil.
    static func quotaError(_ body: () async throws -> Void) async -> APIError? {
        do {
            try await body()
            return nil
        } catch let error as APIError where error.kind == .quota {
            return error
        } catch {
            Issue.record("expected a quota error, got \(error)")
            return nil
        }
    }

    @Test func aQuotaOneHostMeetsPausesEveryHostUntilItsPauseEnds() async throws {
        let length = Duration.seconds(3)
        try await Fixture.with { f in
            try await withFleet(f, hosts: 2, pauseLength: length) { hosts in
                let (a, b) = (hosts[0], hosts[1])
                try await onEveryHost(hosts) {
                    _ = try await $0.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                }
                try await f.setFaults(#"{"rules":[{"endpoint":"upload","kind":"quota","fraction":1}]}"#)
                let before = try await Self.uploads(f)
                let started = ContinuousClock.now
                let met = await Self.quotaError {
                    _ = try await a.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                }
                #expect(met?.errcode == 45009)
                #expect(try await Self.uploads(f) == before + 1, "the host that met it does not retry into the pause")
                try await f.setFaults(#"{"rules":[]}"#)

                // B never met the quota; its upload fails at once, with no request.
                let askedAt = ContinuousClock.now
                let paused = await Self.quotaError {
                    _ = try await b.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                }
                #expect(paused?.errcode == 45009)
                #expect(askedAt.duration(to: .now) < .seconds(1), "fails fast, no backoff")
                #expect(
                    await Self.quotaError { _ = try await a.client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }
                        != nil)
                #expect(try await Self.uploads(f) == before + 1)

                // Once the pause is over B's upload goes out and succeeds, not before.
                let uploaded = await eventually(within: .seconds(15), every: .milliseconds(100)) {
                    (try? await b.client.upload(fileAt: Samples.path("cat.jpg"), as: .image)) != nil
                }
                #expect(uploaded)
                #expect(started.duration(to: .now) >= length - .milliseconds(300))
                #expect(try await Self.uploads(f) == before + 2, "nothing was sent while paused")
                #expect(try await b.pause.remainingPause() == nil)
            }
        }
    }

    @Test func aShorterPauseDoesNotCutALongerOne() async throws {
        try await Fixture.with { f in
            try await withFleet(f, hosts: 2) { hosts in
                #expect(try await hosts[0].pause.remainingPause() == nil)
                try await hosts[0].pause.pauseUploads(for: .seconds(600))
                try await hosts[1].pause.pauseUploads(for: .seconds(1))
                let remaining = try #require(try await hosts[1].pause.remainingPause())
                #expect(remaining > .seconds(590) && remaining <= .seconds(600))
            }
        }
    }
}
