import EmulatorTestSupport
import Foundation
import Testing
import WeChatMedia

@Suite("Client against a misbehaving server")
struct HostileServerTests {
    static let quick = RetryPolicy(
        maxAttempts: 2, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10), totalTime: .seconds(3))

    /// A trickle sends one byte of cat.jpg (9,059 bytes) per 200 ms: 30 minutes unbounded. A
    /// call that ends well within this ended by its own deadline, however slow the machine.
    static let tricklesFor: Duration = .seconds(9059 / 5)

    /// Uploads cat.jpg, arms `kind` on `endpoint`, and returns what the next download does,
    /// and how many requests the fault answered (each attempt the client made).
    func download(with kind: String, on endpoint: String = "get") async throws -> (
        Result<RemoteMedia, any Error>, String, attempts: Int, elapsed: Duration
    ) {
        try await EmulatorFixture.with { f in
            let client = f.makeClient(retry: Self.quick)
            let id = try await f.makeClient().upload(fileAt: Samples.path("cat.jpg"), as: .image).mediaID
            try await f.setFaults(
                #"{"rules":[{"endpoint":"\#(endpoint)","kind":"\#(kind)","fraction":1,"delay_ms":200}]}"#)
            let folder = try TemporaryDirectory.make()
            let target = folder + "/download"
            let started = ContinuousClock.now
            let result: Result<RemoteMedia, any Error>
            do {
                result = .success(try await client.download(mediaID: id, to: target))
            } catch {
                result = .failure(error)
            }
            let elapsed = started.duration(to: .now)
            return (result, target, try await f.injectedFaults().first ?? 0, elapsed)
        }
    }

    @Test("a body that is not the API's JSON is an invalid response", arguments: ["html", "bad_json", "huge_json"])
    func garbageBodies(kind: String) async throws {
        let (result, target, attempts, _) = try await download(with: kind)
        guard case .failure(let error) = result, case .invalidResponse = error as? TransportError else {
            Issue.record("expected an invalid response, got \(result)")
            return
        }
        #expect(
            !FileManager.default.fileExists(atPath: target)
                || (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? Int) == 0)
        // Bounded by the retry policy, not by a clock: at most its attempts were made.
        #expect((1...Self.quick.maxAttempts).contains(attempts), "\(attempts) attempts")
    }

    @Test func anErrorWithAFileContentTypeIsStillAnError() async throws {
        let (result, _, _, _) = try await download(with: "error_as_file")
        guard case .failure(let error) = result else {
            Issue.record("expected failure, got \(result)")
            return
        }
        #expect((error as? APIError)?.errcode == 40007)
    }

    @Test func aConnectionCutMidDownloadFails() async throws {
        let (result, _, attempts, _) = try await download(with: "cut")
        guard case .failure(let error) = result else {
            Issue.record("expected failure, got \(result)")
            return
        }
        #expect(error is TransportError, "\(error)")
        #expect((1...Self.quick.maxAttempts).contains(attempts), "\(attempts) attempts")
    }

    @Test func aServersFilenameNeverNamesALocalPath() async throws {
        try? FileManager.default.removeItem(atPath: "/tmp/wxmediafs-evil")
        let (result, target, _, _) = try await download(with: "evil_filename")
        guard case .success(.file(let file)) = result else {
            Issue.record("expected success, got \(result)")
            return
        }
        #expect(file.filename == "wxmediafs-evil")
        #expect(FileManager.default.contents(atPath: target).map(Array.init) == Samples.bytes("cat.jpg"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/wxmediafs-evil"))
    }

    @Test func aTricklingReplyEndsAtTheDeadline() async throws {
        let (result, _, attempts, elapsed) = try await download(with: "trickle")
        guard case .failure(let error) = result else {
            Issue.record("expected failure, got \(result)")
            return
        }
        #expect(error is TransportError, "\(error)")
        // Ended by the 3 s policy: the reply itself would have taken 30 minutes.
        #expect(elapsed < Self.tricklesFor / 10, "\(elapsed)")
        #expect((1...Self.quick.maxAttempts).contains(attempts), "\(attempts) attempts")
    }

    @Test(
        "uploads answered with garbage fail cleanly",
        arguments: ["html", "bad_json", "huge_json", "cut", "short_length"])
    func garbageUploadReplies(kind: String) async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient(retry: Self.quick)
            _ = try await f.makeClient().upload(fileAt: Samples.path("thumb.jpg"), as: .image)
            try await f.setFaults(#"{"rules":[{"endpoint":"upload","kind":"\#(kind)","fraction":1}]}"#)
            await #expect(throws: TransportError.self) {
                _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
            }
            // Bounded by the retry policy, not by a clock: at most its attempts were made.
            let attempts = try await f.injectedFaults().first ?? 0
            #expect((1...Self.quick.maxAttempts).contains(attempts), "\(attempts) attempts")
        }
    }
}
