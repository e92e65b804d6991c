import EmulatorTestSupport
import Foundation
import Testing

/// Readers of one id share one download, and each ends within one `--request-timeout` of its own
/// call: a failed download is not started again for the pages the kernel asks for once more.
@Suite("Mount: readers of a download that never finishes")
struct DownloadBoundTests {
    @Test func twoReadersOfATricklingDownloadEachEndWithinOneTimeout() async throws {
        try await MountFixture.with(arguments: ["--request-timeout", "4s"]) { m in
            let token = try await m.emulator.legacyToken()
            let upload = try await m.emulator.upload(
                Samples.bytes("cat.jpg"), filename: "c.jpg", type: "image", token: token)
            let id = try #require(upload.json["media_id"] as? String)
            // Known first (one HEAD): the reads below are what meets the fault.
            let known = try await m.shell(#"stat -c %s "$M/by-id/\#(id)""#)
            #expect(known.stdout == "9059\n", "\(known.stderr)")
            // A byte every 10 ms: 90 s for the whole file, far past the timeout.
            try await m.emulator.setFaults(
                #"{"rules":[{"endpoint":"get","kind":"trickle","fraction":1,"delay_ms":10}]}"#)
            func timedRead() async throws -> (Duration, CommandResult) {
                let started = ContinuousClock.now
                let result = try await m.shell(#"cat "$M/by-id/\#(id)" > /dev/null"#)
                return (started.duration(to: .now), result)
            }
            async let first = timedRead()
            // The second reader joins once the first one's download is in flight.
            let inFlight = try await eventually { try await m.emulator.counters()["get", default: 0] >= 1 }
            #expect(inFlight)
            async let second = timedRead()
            for (elapsed, result) in [try await first, try await second] {
                #expect(result.status != 0, "the read fails: \(result.stderr)")
                // One 4 s budget; a download started again for the second reader would be 8 s.
                #expect(elapsed < .seconds(4) * 2, "\(elapsed)")
            }
            // What bounds them is that they shared one download, which was not started again.
            #expect(try await m.emulator.counters()["get", default: 0] == 1)
        }
    }
}
