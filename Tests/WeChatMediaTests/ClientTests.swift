import AsyncHTTPClient
import EmulatorTestSupport
import Foundation
import Logging
import Synchronization
import Testing
import WeChatMedia

@Suite("Client against the emulator on loopback")
struct ClientTests {
    typealias Fixture = EmulatorFixture

    /// Downloads `id` with the client into a temporary file and returns its bytes.
    func downloadBytes(_ client: WeChatMediaClient, _ id: String) async throws -> [UInt8] {
        let path = try TemporaryDirectory.make() + "/download"
        _ = try await client.download(mediaID: id, to: path)
        return Array(FileManager.default.contents(atPath: path) ?? Data())
    }

    @Test func fiftyConcurrentUploadsShareOneTokenRequest() async throws {
        try await Fixture.with { f in
            let client = f.makeClient()
            let ids = try await withThrowingTaskGroup(of: UploadedMedia.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }
                }
                return try await group.reduce(into: []) { $0.append($1.mediaID) }
            }
            #expect(Set(ids).count == 50)
            let counters = try await f.counters()
            #expect(counters["stable_token"] == 1)
            #expect(counters["token", default: 0] == 0)
            #expect(counters["upload"] == 50)
        }
    }

    @Test(
        "a token that expires mid-run is renewed without the caller seeing it",
        arguments: [
            AppSecretTokenProvider.Endpoint.stable, .legacy,
        ])
    func expiredTokenIsRenewed(endpoint: AppSecretTokenProvider.Endpoint) async throws {
        try await Fixture.with { f in
            let client = f.makeClient(endpoint: endpoint)
            let first = try await client.upload(fileAt: Samples.path("hello.amr"), as: .voice)
            // The server's clock passes the token's expiry; the client's cache does not know.
            try await f.advanceClock(seconds: 7201)
            let second = try await client.upload(fileAt: Samples.path("hello.amr"), as: .voice)
            #expect(first.mediaID != second.mediaID)
            let counters = try await f.counters()
            #expect(counters[endpoint == .stable ? "stable_token" : "token"] == 2)
            #expect(counters["upload"] == 3, "one refused with 42001, retried once")
        }
    }

    @Test func aStableTokenRetiredElsewhereIsForcedToRenew() async throws {
        try await Fixture.with { f in
            let client = f.makeClient()
            _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
            // Another process force-refreshes: our token is now 40001.
            let body =
                #"{"grant_type":"client_credential","appid":"\#(Fixture.appID)","secret":"\#(Fixture.secret.value)","force_refresh":true}"#
            _ = try await f.request(.POST, "/cgi-bin/stable_token", body: Array(body.utf8))
            try await f.advanceClock(seconds: 31)
            _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
            #expect(try await f.counters()["stable_token"] == 3)
        }
    }

    @Test func withTwentyPercentFaultsEveryUploadStillSucceeds() async throws {
        try await Fixture.with { f in
            try await f.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"errcode","fraction":0.1},{"endpoint":"upload","kind":"http503","fraction":0.05},{"endpoint":"upload","kind":"drop","fraction":0.05}]}"#
            )
            let client = f.makeClient(
                retry: RetryPolicy(
                    maxAttempts: 6, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(100),
                    totalTime: .seconds(30)))
            let samples = ["cat.jpg", "thumb.jpg"]
            let uploads = try await withThrowingTaskGroup(of: (String, UploadedMedia).self) { group in
                for index in 0..<40 {
                    let name = samples[index % 2]
                    group.addTask { (name, try await client.upload(fileAt: Samples.path(name), as: .image)) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(uploads.count == 40)
            let injected = try await f.injectedFaults()
            #expect(injected.reduce(0, +) >= 8, "faults were really injected: \(injected)")
            try await f.setFaults(#"{"rules":[]}"#)
            for (name, media) in uploads.prefix(6) {
                #expect(try await downloadBytes(client, media.mediaID) == Samples.bytes(name))
            }
        }
    }

    @Test func permanentErrorsAreNotRetried() async throws {
        try await Fixture.with(limits: .seed) { f in
            // The client believes the current limits, so the server is the one to refuse.
            let client = f.makeClient(rules: .current)
            await #expect {
                _ = try await client.upload(fileAt: Samples.path("cat.png"), as: .image)
            } throws: { error in
                (error as? APIError)?.errcode == 40005
            }
            let big = try Samples.write(Samples.jpeg(size: 2 * 1024 * 1024), named: "big.jpg")
            do {
                _ = try await client.upload(fileAt: big, as: .image)
                Issue.record("a 2 MiB image was accepted under the seed limits")
            } catch let error as APIError {
                #expect(error.errcode == 40009)
                #expect(error.kind == .tooLarge)
                #expect(error.errmsg.hasPrefix("invalid image size hint: ["))
            }
            #expect(try await f.counters()["upload"] == 2)
        }
    }

    @Test func filesThatBreakTheRulesAreRefusedBeforeAnyRequest() async throws {
        try await Fixture.with { f in
            let client = f.makeClient()
            await #expect(throws: MediaRuleViolation.self) {
                _ = try await client.upload(fileAt: Samples.path("long70s.mp3"), as: .voice)
            }
            await #expect(throws: MediaRuleViolation.self) {
                _ = try await client.upload(fileAt: Samples.path("cat.png"), as: .image)
            }
            let counters = try await f.counters()
            #expect(counters["upload", default: 0] == 0)
            #expect(counters["stable_token", default: 0] == 0)
        }
    }

    @Test func theUploadFilenameComesFromTheFormatNotTheLocalName() async throws {
        try await Fixture.with { f in
            let client = f.makeClient()
            // A temporary name with no extension and a non-ASCII one: both upload as media.jpg.
            let odd = try Samples.write(Samples.bytes("cat.jpg"), named: ".cat.jpg.Xy12Zq")
            let unicode = try Samples.write(Samples.bytes("cat.jpg"), named: "猫 照片")
            #expect(try await client.upload(fileAt: odd, as: .image).format == .jpeg)
            #expect(try await client.upload(fileAt: unicode, as: .image).format == .jpeg)
        }
    }

    /// A file up to one chunk (64 KiB) goes out as one buffer, a longer one as a stream: both
    /// arrive whole on either side of the line, with the progress ending at the file's size.
    @Test(arguments: [100, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 200 * 1024])
    func uploadsOnEitherSideOfOneChunkArriveWhole(size: Int) async throws {
        try await Fixture.with { f in
            let client = f.makeClient()
            // Bytes that differ along the file, so a piece lost or sent twice shows.
            let bytes = Array(
                Samples.jpeg(size: size).enumerated().map { $0 < 4 ? $1 : UInt8(truncatingIfNeeded: $0 &* 31) })
            let sent = Mutex<[Int64]>([])
            let uploaded = try await client.upload(
                fileAt: try Samples.write(bytes, named: "sized.jpg"), as: .image,
                progress: { value in sent.withLock { $0.append(value) } })
            #expect(uploaded.size == Int64(size))
            #expect(sent.withLock { $0.last } == Int64(size))
            #expect(try await downloadBytes(client, uploaded.mediaID) == bytes)
        }
    }

    @Test func aTenMegabyteVideoUploadsAndDownloadsByteIdentical() async throws {
        try await Fixture.with(limits: .current) { f in
            let client = f.makeClient(rules: .current)
            let bytes = Samples.mp4(size: 10 * 1024 * 1024)
            let path = try Samples.write(bytes, named: "big.mp4")
            let uploaded = try await client.upload(fileAt: path, as: .video)
            #expect(uploaded.size == Int64(bytes.count))
            let target = try TemporaryDirectory.make() + "/video"
            let answer = try await client.download(mediaID: uploaded.mediaID, to: target)
            // Videos answer with a URL; the bytes live there.
            guard case .video(let url) = answer else {
                Issue.record("expected a video_url, got \(answer)")
                return
            }
            let response = try await f.http.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 11 * 1024 * 1024)
            #expect(Array(body.readableBytesView) == bytes)
        }
    }

    @Test func downloadsStreamWithProgressAndHeadDescribesTheFile() async throws {
        try await Fixture.with(limits: .current) { f in
            let client = f.makeClient(rules: .current)
            let bytes = Samples.jpeg(size: 9 * 1024 * 1024)
            let uploaded = try await client.upload(fileAt: try Samples.write(bytes, named: "big.jpg"), as: .image)
            let head = try await client.head(mediaID: uploaded.mediaID)
            #expect(
                head
                    == .file(
                        RemoteFile(
                            size: Int64(bytes.count), contentType: "image/jpeg", filename: uploaded.mediaID + ".jpg")))
            let progress = ProgressLog()
            let target = try TemporaryDirectory.make() + "/image"
            _ = try await client.download(mediaID: uploaded.mediaID, to: target) { await progress.record($0) }
            let seen = await progress.values
            #expect(seen.count > 1, "progress arrives in pieces")
            #expect(seen == seen.sorted())
            #expect(seen.last == Int64(bytes.count))
            #expect(FileManager.default.contents(atPath: target).map(Array.init) == bytes)
        }
    }

    @Test func unknownIdsAreNotFoundAndVideoUnderTheSeedIsRefused() async throws {
        try await Fixture.with { f in
            let client = f.makeClient()
            do {
                _ = try await client.head(mediaID: "../../etc/passwd?x=&y")
                Issue.record("an unknown id was found")
            } catch let error as APIError {
                #expect(error.kind == .notFound)
            }
            let video = try await client.upload(fileAt: Samples.path("clip.mp4"), as: .video)
            do {
                _ = try await client.download(mediaID: video.mediaID, to: try TemporaryDirectory.make() + "/v")
                Issue.record("a video downloaded under the seed API")
            } catch let error as APIError {
                #expect(error.errcode == 40004)
            }
        }
    }

    @Test func aTokenFileIsReadAgainAfterARefusal() async throws {
        try await Fixture.with { f in
            let path = try TemporaryDirectory.make() + "/token"
            try (try await f.legacyToken() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let client = f.makeClient(tokens: TokenFileProvider(path: path))
            _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
            try await f.advanceClock(seconds: 7201)
            do {
                _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
                Issue.record("an expired token from the file was accepted")
            } catch let error as APIError {
                #expect(error.errcode == 42001)
            }
            // Whoever manages the file writes a new token: the next call reads it.
            try (try await f.legacyToken() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
        }
    }

    @Test func credentialsNeverAppearInErrors() async throws {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        // Nothing listens on port 9 of loopback: every call fails at the transport.
        let connection = APIConnection(baseURL: "http://127.0.0.1:9", httpClient: http)
        let secret = Secret("SUPER-SECRET-VALUE")
        let retry = RetryPolicy(
            maxAttempts: 2, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(1), totalTime: .seconds(5))
        let provider = AppSecretTokenProvider(
            appID: "wx1", secret: secret, endpoint: .legacy, connection: connection, retry: retry,
            logger: Logger(label: "t"))
        let client = WeChatMediaClient(
            connection: connection, tokens: provider, rules: MediaRules(profile: .seed), retry: retry,
            logger: Logger(label: "t"))
        do {
            _ = try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image)
            Issue.record("uploaded with no server")
        } catch {
            #expect(error is TransportError)
            #expect(!"\(error)".contains("SUPER-SECRET-VALUE"))
            #expect(!String(reflecting: error).contains("SUPER-SECRET-VALUE"))
        }
        try? await http.shutdown()
    }
}

/// Progress values as a download reports them.
actor ProgressLog {
    private(set) var values: [Int64] = []
    func record(_ value: Int64) { values.append(value) }
}
