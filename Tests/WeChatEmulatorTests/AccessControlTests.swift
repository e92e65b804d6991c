import EmulatorTestSupport
import Foundation
import Testing
import WeChatMedia

@Suite("Emulator: IP whitelist and a frozen AppSecret")
struct AccessControlTests {
    func stableToken(_ f: EmulatorFixture, secret: String = EmulatorFixture.secret.value) async throws
        -> EmulatorFixture.Reply
    {
        try await f.request(
            .POST, "/cgi-bin/stable_token",
            body: Array(
                #"{"grant_type":"client_credential","appid":"\#(EmulatorFixture.appID)","secret":"\#(secret)"}"#.utf8))
    }

    @Test func aCallerOutsideTheWhitelistIsRefusedWith61004AndItsIP() async throws {
        try await EmulatorFixture.with { f in
            let token = try await f.legacyToken()
            try await f.control(.POST, "whitelist", json: #"{"ips":["192.0.2.1"]}"#)
            let refused = try await stableToken(f)
            #expect(refused.status == 200)
            #expect(refused.errcode == 61004)
            let message = refused.json["errmsg"] as? String ?? ""
            #expect(message.hasPrefix("access clientip is not registered"), "\(message)")
            #expect(message.contains("requestIP: 127.0.0.1"), "\(message)")
            // Every API call is refused, not only tokens.
            let upload = try await f.upload(Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token)
            #expect(upload.errcode == 61004)
            // The older docs' code, when asked for.
            try await f.control(.POST, "whitelist", json: #"{"ips":["192.0.2.1"],"errcode":40164}"#)
            #expect(try await stableToken(f).errcode == 40164)
            try await f.control(.POST, "whitelist", json: #"{"ips":["127.0.0.1"]}"#)
            #expect(try await stableToken(f).json["access_token"] is String)
            try await f.control(.POST, "whitelist", json: #"{"ips":["192.0.2.1"]}"#)
            try await f.control(.DELETE, "whitelist")
            #expect(try await stableToken(f).json["access_token"] is String)
        }
    }

    @Test func aFrozenSecretGets40243UntilUnfrozenAndTokensIssuedBeforeStillWork() async throws {
        try await EmulatorFixture.with { f in
            let token = try await f.legacyToken()
            try await f.control(.POST, "secret/freeze")
            let frozen = try await stableToken(f)
            #expect(frozen.errcode == 40243, "\(frozen.json)")
            #expect((frozen.json["errmsg"] as? String ?? "").contains("frozen"))
            let legacy = try await f.request(
                .GET,
                "/cgi-bin/token?grant_type=client_credential&appid=\(EmulatorFixture.appID)&secret=\(EmulatorFixture.secret.value)"
            )
            #expect(legacy.errcode == 40243)
            #expect(try await stableToken(f, secret: "wrong").errcode == 40125, "a wrong secret is still wrong")
            let upload = try await f.upload(Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token)
            #expect(upload.json["media_id"] is String, "a token issued before the freeze works: \(upload.json)")
            try await f.control(.DELETE, "secret/freeze")
            #expect(try await stableToken(f).json["access_token"] is String)
            try await f.control(.POST, "secret/freeze")
            try await f.control(.POST, "reset")
            #expect(try await stableToken(f).json["access_token"] is String, "reset unfreezes")
        }
    }
}
