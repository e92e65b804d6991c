import EmulatorTestSupport
import Foundation
import Logging
import Synchronization
import Testing
import WeChatMedia

/// Values no real server sends, each answered by a stand-in server one at a time: the client must
/// refuse every one with an invalid response naming the field, and never trap or hand it on.
@Suite("Client against implausible values")
struct HostileValueTests {
    static let quick = RetryPolicy(
        maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10), totalTime: .seconds(5))

    /// The detail of an invalid response, or a recorded issue for any other outcome.
    func invalidResponseDetail<T>(_ outcome: Result<T, any Error>) -> String? {
        guard case .failure(let error) = outcome, case .invalidResponse(let detail) = error as? TransportError else {
            Issue.record("expected an invalid response, got \(outcome)")
            return nil
        }
        return detail
    }

    func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    // MARK: Uploads

    static let hostileUploads: [(reply: String, field: String, shows: String)] = [
        (#"{"media_id":"okMediaId","created_at":9223372036854775807}"#, "created_at", "9223372036854775807"),
        (#"{"media_id":"okMediaId","created_at":-9223372036854775808}"#, "created_at", "-9223372036854775808"),
        (#"{"media_id":"okMediaId","created_at":-1}"#, "created_at", "-1"),
        (#"{"media_id":"okMediaId","created_at":0}"#, "created_at", "0"),
        (#"{"media_id":"okMediaId","created_at":1.5}"#, "created_at", "1.5"),
        (#"{"media_id":"okMediaId","created_at":"a string"}"#, "created_at", "a string"),
        (#"{"media_id":"okMediaId","created_at":"9223372036854775807"}"#, "created_at", "9223372036854775807"),
        (#"{"media_id":"okMediaId","created_at":99999999999999999999999}"#, "created_at", "created_at"),
        (#"{"media_id":"okMediaId","created_at":true}"#, "created_at", "true"),
        (#"{"media_id":"okMediaId"}"#, "created_at", "without created_at"),
        (#"{"media_id":"../../etc/passwd","created_at":1486032778}"#, "media_id", "../../etc/passwd"),
        (#"{"media_id":"","created_at":1486032778}"#, "media_id", "media_id"),
        (#"{"media_id":12345,"created_at":1486032778}"#, "media_id", "12345"),
        (#"{"media_id":"has space","created_at":1486032778}"#, "media_id", "has space"),
        (#"{"created_at":1486032778}"#, "media_id", "without media_id"),
        (
            #"{"media_id":"\#(String(repeating: "a", count: 60_000))","created_at":1486032778}"#, "media_id",
            "60000 bytes"
        ),
    ]

    @Test(
        "an upload answered with an implausible value fails naming the field, and is not sent again",
        arguments: hostileUploads.indices)
    func hostileUploadReply(index: Int) async throws {
        let (reply, field, shows) = Self.hostileUploads[index]
        try await StandInServer.with(.init(upload: reply)) { server in
            let client = server.makeClient(retry: Self.quick)
            let result = await outcome { try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }
            guard let detail = invalidResponseDetail(result) else { return }
            #expect(detail.contains(field), "\(detail)")
            #expect(detail.contains(shows), "\(detail)")
            #expect(detail.count < 300, "a long value is cut short: \(detail.count) characters")
            let counts = try await server.requestCounts()
            #expect(counts["/cgi-bin/media/upload"] == 1, "not retried")
        }
    }

    @Test func aReplyTooLargeForAnyIdIsRefusedByItsSize() async throws {
        // 100,000 characters of id do not fit the 64 KiB a JSON reply may have: refused before parsing.
        let reply = #"{"media_id":"\#(String(repeating: "a", count: 100_000))","created_at":1486032778}"#
        try await StandInServer.with(.init(upload: reply)) { server in
            let client = server.makeClient(retry: Self.quick)
            let result = await outcome { try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }
            let detail = invalidResponseDetail(result)
            #expect(detail == "reply larger than \(APIConnection.maxJSONReply) bytes")
        }
    }

    @Test func aThumbReplyIsJudgedByItsThumbMediaID() async throws {
        let reply = #"{"type":"thumb","thumb_media_id":"../x","created_at":1486032778}"#
        try await StandInServer.with(.init(upload: reply)) { server in
            let client = server.makeClient(retry: Self.quick)
            let result = await outcome { try await client.upload(fileAt: Samples.path("thumb.jpg"), as: .thumb) }
            let detail = invalidResponseDetail(result)
            #expect(detail?.contains("thumb_media_id") == true, "\(detail ?? "")")
        }
    }

    @Test func plausibleRepliesStillUpload() async throws {
        let reply = #"{"errcode":"0","media_id":"good_Id-123","created_at":"1486032778"}"#
        try await StandInServer.with(.init(upload: reply)) { server in
            let uploaded = try await server.makeClient(retry: Self.quick).upload(
                fileAt: Samples.path("cat.jpg"), as: .image)
            #expect(uploaded.mediaID == "good_Id-123")
            #expect(uploaded.createdAt == 1_486_032_778)
        }
    }

    // MARK: Tokens

    static let hostileTokens: [(reply: String, field: String, shows: String)] = [
        (#"{"access_token":"tokenValue","expires_in":9223372036854775807}"#, "expires_in", "9223372036854775807"),
        (#"{"access_token":"tokenValue","expires_in":-9223372036854775808}"#, "expires_in", "-9223372036854775808"),
        (#"{"access_token":"tokenValue","expires_in":-5}"#, "expires_in", "-5"),
        (#"{"access_token":"tokenValue","expires_in":0}"#, "expires_in", "0"),
        (#"{"access_token":"tokenValue","expires_in":604801}"#, "expires_in", "604801"),
        (#"{"access_token":"tokenValue","expires_in":1.5}"#, "expires_in", "1.5"),
        (#"{"access_token":"tokenValue","expires_in":"7200"}"#, "expires_in", "7200"),
        (#"{"access_token":"tokenValue","expires_in":1e300}"#, "expires_in", "expires_in"),
        (#"{"access_token":"../secret/token value","expires_in":7200}"#, "access_token", "access_token"),
    ]

    @Test("a token reply with an implausible value fails naming the field", arguments: hostileTokens.indices)
    func hostileTokenReply(index: Int) async throws {
        let (reply, field, shows) = Self.hostileTokens[index]
        for endpoint in [AppSecretTokenProvider.Endpoint.stable, .legacy] {
            try await StandInServer.with(.init(token: reply)) { server in
                let client = server.makeClient(endpoint: endpoint, retry: Self.quick)
                let token = await outcome { try await client.tokens.currentToken() }
                if let detail = invalidResponseDetail(token) {
                    #expect(detail.contains(field) && detail.contains(shows), "\(detail)")
                    #expect(!detail.contains("../secret"), "a token's value is never shown: \(detail)")
                }
                let upload = await outcome { try await client.upload(fileAt: Samples.path("cat.jpg"), as: .image) }
                #expect(invalidResponseDetail(upload)?.contains(field) == true)
                let counts = try await server.requestCounts()
                #expect(counts["/cgi-bin/media/upload"] == nil, "no upload without a token")
            }
        }
    }

    @Test func aTokenReplyWithoutExpiresInLastsTheDefault7200Seconds() async throws {
        try await StandInServer.with(.init(token: #"{"access_token":"tokenValue"}"#)) { server in
            let before = ContinuousClock.now
            let token = try await server.makeClient(retry: Self.quick).tokens.currentToken()
            let refreshAfter = try #require(token.refreshAfter)
            // 7200 s less the 300 s refresh margin.
            #expect(refreshAfter >= before + .seconds(6900) && refreshAfter <= .now + .seconds(6900))
        }
    }

    // MARK: Downloads

    static let hostileLengths = ["-1", "abc", "1099511627777", "99999999999999999999999", "12 34", "0x10"]

    @Test("a file with an implausible Content-Length is refused", arguments: hostileLengths)
    func hostileContentLength(length: String) async throws {
        let headers = [
            ("Content-Type", "image/jpeg"), ("Content-Disposition", #"attachment; filename="x.jpg""#),
            ("Content-Length", length),
        ]
        try await StandInServer.with(.init(download: (headers, "0123456789"))) { server in
            let client = server.makeClient(retry: Self.quick)
            let target = try TemporaryDirectory.make() + "/download"
            for result in [
                await outcome { try await client.head(mediaID: "someMediaId") },
                await outcome { try await client.download(mediaID: "someMediaId", to: target) },
            ] {
                guard case .failure(let error) = result, let transport = error as? TransportError else {
                    Issue.record("expected a transport error, got \(result)")
                    continue
                }
                // NIO's HTTP parser refuses some of these itself (a cut connection); whatever
                // gets past it is refused by the client, naming the header.
                if case .invalidResponse(let detail) = transport {
                    #expect(detail.contains("Content-Length") && detail.contains(length), "\(detail)")
                } else if length == "1099511627777" {
                    Issue.record("a length NIO accepts must be refused by the client: \(transport)")
                }
            }
        }
    }

    @Test func contentLengthHeadersAreReadStrictly() throws {
        #expect(try ContentLength.parse(nil) == nil)
        #expect(try ContentLength.parse("0") == 0)
        #expect(try ContentLength.parse("1048576") == 1_048_576)
        #expect(try ContentLength.parse("1099511627776") == ContentLength.largest)
        for hostile in ["-1", "", "abc", "+5", " 5", "1.5", "1099511627777", "9223372036854775808", "1e9"] {
            #expect(throws: TransportError.self, "\(hostile)") { try ContentLength.parse(hostile) }
        }
    }

    // MARK: Parsing, the retry policy

    @Test func errcodesAreReadWithoutTrapping() throws {
        #expect(try APIReply.parse(Array(#"{"errcode":"-1","errmsg":"busy"}"#.utf8)).error?.kind == .retryable)
        #expect(try APIReply.parse(Array(#"{"errcode":40007}"#.utf8)).error?.kind == .notFound)
        #expect(try APIReply.parse(Array(#"{"errcode":9223372036854775807}"#.utf8)).error?.kind == .other)
        #expect(try APIReply.parse(Array(#"{"errcode":-9223372036854775808}"#.utf8)).error?.kind == .retryable)
        #expect(try APIReply.parse(Array(#"{"errcode":0,"errmsg":"ok"}"#.utf8)).error == nil)
        for hostile in [
            #"{"errcode":1.5}"#, #"{"errcode":99999999999999999999999}"#, #"{"errcode":"abc"}"#,
            #"{"errcode":true}"#, #"{"errcode":"-9223372036854775809"}"#,
        ] {
            do {
                _ = try APIReply.parse(Array(hostile.utf8))
                Issue.record("accepted \(hostile)")
            } catch {
                #expect("\(error)".contains("errcode"), "\(error)")
            }
        }
    }

    @Test func theServerTimeRangeIsTheCenturyFrom2000() {
        #expect(ServerTime.plausibleRange.lowerBound == 946_684_800)
        #expect(ServerTime.plausibleRange.upperBound == 4_102_444_799)
        #expect(ServerTime.isPlausible(1_486_032_778))
        #expect(!ServerTime.isPlausible(.max) && !ServerTime.isPlausible(.min) && !ServerTime.isPlausible(0))
    }

    @Test func aHugeTimeBudgetDoesNotOverflowTheDeadline() async throws {
        let policy = RetryPolicy(
            maxAttempts: 2, initialBackoff: .seconds(Int64.max), maxBackoff: .seconds(Int64.max),
            totalTime: .seconds(Int64.max))
        let value = try await policy.run(logger: Logger(label: "test"), operation: "test") { _ in 42 }
        #expect(value == 42)
    }

    @Test func manyAttemptsDoNotOverflowTheBackoff() async throws {
        // Doubling 1 ns a hundred times is 10^21 s, past what a Duration holds.
        let policy = RetryPolicy(
            maxAttempts: .max, initialBackoff: .nanoseconds(1), maxBackoff: .microseconds(1), totalTime: .seconds(30))
        let attempts = AttemptCounter()
        let value = try await policy.run(logger: Logger(label: "test"), operation: "test") { _ in
            guard attempts.next() > 100 else { throw TransportError.connection("not yet") }
            return "done"
        }
        #expect(value == "done")
    }
}

/// A count shared with a retried closure.
final class AttemptCounter: Sendable {
    private let value = Mutex(0)

    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}
