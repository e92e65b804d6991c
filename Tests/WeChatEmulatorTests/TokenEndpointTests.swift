import EmulatorTestSupport
import Testing
import WeChatMedia

@Suite("Emulator: /cgi-bin/token and /cgi-bin/stable_token")
struct TokenEndpointTests {
    typealias Fixture = EmulatorFixture
    let app = EmulatorFixture.appID
    let secret = EmulatorFixture.secret.value

    func stable(_ fixture: Fixture, force: Bool = false, secret: String? = nil) async throws -> Fixture.Reply {
        let body =
            #"{"grant_type":"client_credential","appid":"\#(app)","secret":"\#(secret ?? self.secret)","force_refresh":\#(force)}"#
        return try await fixture.request(
            .POST, "/cgi-bin/stable_token", body: Array(body.utf8), headers: [("Content-Type", "application/json")])
    }

    func uploadStatus(_ fixture: Fixture, token: String) async throws -> Int? {
        try await fixture.upload(Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token).errcode
    }

    @Test func tokenRequestsAreCheckedFieldByField() async throws {
        try await Fixture.with { f in
            let ok = try await f.request(
                .GET, "/cgi-bin/token?grant_type=client_credential&appid=\(app)&secret=\(secret)")
            #expect(ok.status == 200)
            #expect((ok.json["access_token"] as? String)?.count == 136)
            #expect(ok.json["expires_in"] as? Int == 7200)
            let cases: [(String, Int)] = [
                ("grant_type=client_credential&appid=wxOTHER&secret=\(secret)", 40013),
                ("grant_type=client_credential&appid=\(app)&secret=wrong", 40125),
                ("grant_type=client_credential&secret=\(secret)", 41002),
                ("grant_type=client_credential&appid=\(app)", 41004),
                ("grant_type=password&appid=\(app)&secret=\(secret)", 40002),
            ]
            for (query, errcode) in cases {
                let reply = try await f.request(.GET, "/cgi-bin/token?" + query)
                #expect(reply.status == 200, "errors are HTTP 200")
                #expect(reply.errcode == errcode, "\(query)")
                #expect((reply.json["errmsg"] as? String)?.contains(" hint: [") == true)
            }
        }
    }

    @Test func aNewTokenRetiresThePreviousOneAfterFiveMinutes() async throws {
        try await Fixture.with { f in
            let first = try await f.legacyToken()
            #expect(try await uploadStatus(f, token: first) == nil)
            let second = try await f.legacyToken()
            #expect(first != second)
            #expect(try await uploadStatus(f, token: first) == nil, "still valid during the overlap")
            try await f.advanceClock(seconds: 301)
            #expect(try await uploadStatus(f, token: first) == 40001)
            #expect(try await uploadStatus(f, token: second) == nil)
            try await f.advanceClock(seconds: 7200)
            #expect(try await uploadStatus(f, token: second) == 42001)
        }
    }

    @Test func tokensAreJudgedBeforeAnythingElse() async throws {
        try await Fixture.with { f in
            let body = Samples.bytes("cat.jpg")
            let missing = try await f.request(.POST, "/cgi-bin/media/upload?type=image", body: body)
            #expect(missing.errcode == 41001)
            #expect(try await uploadStatus(f, token: "not%20a%20token") == 40014)
            #expect(try await uploadStatus(f, token: String(repeating: "A", count: 136)) == 40001)
        }
    }

    @Test func theStableTokenStaysTheSameUntilItIsRenewed() async throws {
        try await Fixture.with { f in
            let first = try await stable(f).json["access_token"] as? String
            let again = try await stable(f).json["access_token"] as? String
            #expect(first != nil && first == again)
            let legacy = try await f.legacyToken()
            #expect(try await stable(f).json["access_token"] as? String == first, "independent of /cgi-bin/token")
            #expect(try await uploadStatus(f, token: legacy) == nil)

            // Within 5 minutes of expiry a new one is handed out; the old one lives out its time.
            try await f.advanceClock(seconds: 7200 - 200)
            let renewed = try await stable(f)
            let renewedToken = try #require(renewed.json["access_token"] as? String)
            #expect(renewedToken != first)
            #expect(renewed.json["expires_in"] as? Int == 7200)
            #expect(try await uploadStatus(f, token: first ?? "") == nil)
            try await f.advanceClock(seconds: 201)
            #expect(try await uploadStatus(f, token: first ?? "") == 42001)

            // Forcing renews at once and retires the previous token; not twice within 30 s.
            let forced = try #require(try await stable(f, force: true).json["access_token"] as? String)
            #expect(forced != renewedToken)
            #expect(try await uploadStatus(f, token: renewedToken) == 40001)
            #expect(try await stable(f, force: true).errcode == 45011)
            #expect(try await stable(f, secret: "wrong").errcode == 40125)
            let notJSON = try await f.request(.POST, "/cgi-bin/stable_token", body: Array("grant_type=x".utf8))
            #expect(notJSON.errcode == 47001)
        }
    }
}
