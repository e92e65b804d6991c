import EmulatorTestSupport
import Foundation
import Testing
import WeChatEmulator
import WeChatMedia

@Suite("Emulator: /cgi-bin/openapi/quota/get and the daily quota")
struct QuotaEndpointTests {
    /// daily_limit, used and remain; nil when the reply is not a quota.
    func quota(_ f: EmulatorFixture, _ path: String, token: String) async throws -> [Int]? {
        let reply = try await f.quota(of: path, token: token)
        guard reply.errcode == 0, let quota = reply.json["quota"] as? [String: Int],
            let limit = quota["daily_limit"], let used = quota["used"], let remain = quota["remain"]
        else { return nil }
        return [limit, used, remain]
    }

    @Test func uploadsPastTheDailyQuotaGet45009AndTheQuotaSaysSo() async throws {
        try await EmulatorFixture.with(dailyQuota: DailyQuota(upload: 2, download: 3)) { f in
            let token = try await f.legacyToken()
            let upload = "/cgi-bin/media/upload"
            #expect(try await quota(f, upload, token: token) == [2, 0, 2])
            var ids: [String] = []
            for _ in 0..<2 {
                let reply = try await f.upload(
                    Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token)
                ids.append(try #require(reply.json["media_id"] as? String))
            }
            #expect(try await quota(f, upload, token: token) == [2, 2, 0])
            let over = try await f.upload(Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token)
            #expect(over.errcode == 45009, "\(over.json)")
            #expect(try await quota(f, upload, token: token) == [2, 2, 0], "a refused call is not counted")

            // Downloads have their own quota; GET and HEAD both count.
            let get = "/cgi-bin/media/get"
            let path = "/cgi-bin/media/get?access_token=\(token)&media_id=\(ids[0])"
            #expect(try await f.request(.GET, path).body == Samples.bytes("cat.jpg"))
            #expect(try await f.request(.HEAD, path).status == 200)
            #expect(try await quota(f, get, token: token) == [3, 2, 1])
            #expect(try await f.request(.GET, path).body == Samples.bytes("cat.jpg"))
            #expect(try await f.request(.GET, path).errcode == 45009)

            // A new day (midnight in China) starts afresh.
            try await f.advanceClock(seconds: 86400)
            let token2 = try await f.legacyToken()
            #expect(try await quota(f, upload, token: token2) == [2, 0, 2])
            let again = try await f.upload(Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token2)
            #expect(again.json["media_id"] is String)
        }
    }

    @Test func theDocumentedQuotasAreTheDefaults() async throws {
        try await EmulatorFixture.with { f in
            let token = try await f.legacyToken()
            #expect(try await quota(f, "/cgi-bin/media/upload", token: token) == [5000, 0, 5000])
            #expect(try await quota(f, "/cgi-bin/media/get", token: token) == [10000, 0, 10000])
        }
        try await EmulatorFixture.with(limits: .current) { f in
            let token = try await f.legacyToken()
            #expect(try await quota(f, "/cgi-bin/media/upload", token: token) == [100_000, 0, 100_000])
            #expect(try await quota(f, "/cgi-bin/media/get", token: token) == [200_000, 0, 200_000])
        }
    }

    @Test func otherPathsAndBadRequestsGetThePlatformsErrcodes() async throws {
        try await EmulatorFixture.with { f in
            let token = try await f.legacyToken()
            #expect(try await f.quota(of: "/cgi-bin/no/such/api", token: token).errcode == 76021)
            #expect(try await f.quota(of: "/cgi-bin/component/api_component_token", token: token).errcode == 76022)
            #expect(try await f.quota(of: "/cgi-bin/token", token: token).errcode == 76022)
            let notJSON = try await f.request(
                .POST, "/cgi-bin/openapi/quota/get?access_token=\(token)", body: Array("x".utf8))
            #expect(notJSON.errcode == 47001)
            #expect(try await f.quota(of: "/cgi-bin/media/upload", token: "").errcode == 41001)
            #expect(try await f.request(.GET, "/cgi-bin/openapi/quota/get?access_token=\(token)").errcode == 43002)
            #expect(try await f.counters()["quota"] == 6)
        }
    }

    @Test func theCommandLineTakesTheDailyQuota() async throws {
        for good in ["7", "upload=5", "download=9", "upload=5,download=9"] {
            #expect(DailyQuota(parsing: good, base: .documented(for: .seed)) != nil, "\(good)")
        }
        #expect(
            DailyQuota(parsing: "upload=5", base: .documented(for: .seed)) == DailyQuota(upload: 5, download: 10000))
        for bad in ["", "-1", "upload", "upload=x", "uploads=5", "upload=5,,download=1", "1e3"] {
            #expect(DailyQuota(parsing: bad, base: .documented(for: .seed)) == nil, "\(bad)")
        }
        let refused = try await Command.run(Command.wxmediafsPath, ["emulator", "--daily-quota", "lots"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("--daily-quota"), "\(refused.stderr)")
    }
}
