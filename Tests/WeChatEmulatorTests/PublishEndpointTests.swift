import EmulatorTestSupport
import Foundation
import Testing
import WeChatEmulator
import WeChatMedia

@Suite("Emulator: publishing (freepublish/...)")
struct PublishEndpointTests {
    typealias Fixture = EmulatorFixture
    typealias Drafts = DraftEndpointTests

    /// A draft of `titles`, one article each, with a thumb cover.
    static func draft(_ f: Fixture, token: String, titles: [String]) async throws -> String {
        let thumb = try await Drafts.material(f, token: token, type: "thumb")
        let added = try await Drafts.add(f, token: token, titles.map { Drafts.article(thumb: thumb, title: $0) })
        return try #require(added.json["media_id"] as? String, "\(added.json)")
    }

    static func submit(_ f: Fixture, token: String, draft: String) async throws -> Fixture.Reply {
        try await Drafts.post(f, "freepublish/submit", token: token, ["media_id": draft])
    }

    static func status(_ f: Fixture, token: String, publishID: Any) async throws -> [String: Any] {
        try await Drafts.post(f, "freepublish/get", token: token, ["publish_id": publishID]).json
    }

    @Test func aSubmittedDraftIsPublishingThenPublishedAndLeavesTheBox() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let draft = try await Self.draft(f, token: token, titles: ["One", "Two"])
            // Long enough that the seconds a loaded machine takes do not end the job early.
            try await f.control(.POST, "publish/seconds?seconds=600")
            let submitted = try await Self.submit(f, token: token, draft: draft)
            let publishID = try #require(submitted.json["publish_id"] as? String, "\(submitted.json)")
            #expect(Int64(publishID) != nil && submitted.json["msg_data_id"] is String)

            let publishing = try await Self.status(f, token: token, publishID: publishID)
            #expect(publishing["publish_status"] as? Int == 1 && publishing["article_id"] == nil)
            #expect(try await Self.submit(f, token: token, draft: draft).errcode == 53503, "once at a time")

            try await f.advanceClock(seconds: 300)
            #expect(try await Self.status(f, token: token, publishID: publishID)["publish_status"] as? Int == 1)
            try await f.advanceClock(seconds: 300)
            let done = try await Self.status(f, token: token, publishID: Int64(publishID) ?? 0)
            #expect(done["publish_status"] as? Int == 0, "\(done)")
            #expect(done["fail_idx"] as? [Int] == [])
            let articleID = try #require(done["article_id"] as? String)
            let detail = try #require(done["article_detail"] as? [String: Any])
            let items = try #require(detail["item"] as? [[String: Any]])
            #expect(detail["count"] as? Int == 2 && items.map { $0["idx"] as? Int } == [1, 2])
            let page = try await f.request(.GET, try MaterialEndpointTests.pathOf(items[1]["article_url"]))
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(String(decoding: page.body, as: UTF8.self).contains("<h1>Two</h1>"))

            #expect(try await Drafts.post(f, "draft/get", token: token, ["media_id": draft]).errcode == 40007)
            #expect(
                try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").json["total_count"] as? Int == 0
            )
            #expect(try await Self.submit(f, token: token, draft: draft).errcode == 40007, "no longer a draft")

            let listed = try await Drafts.post(
                f, "freepublish/batchget", token: token, ["offset": 0, "count": 20, "no_content": true])
            #expect(listed.json["total_count"] as? Int == 1 && listed.json["item_count"] as? Int == 1)
            let listedItem = (listed.json["item"] as? [[String: Any]])?.first
            #expect(listedItem?["article_id"] as? String == articleID)
            let news = (listedItem?["content"] as? [String: Any])?["news_item"] as? [[String: Any]]
            #expect(news?.count == 2 && news?.first?["content"] == nil)

            let article = try await Drafts.post(f, "freepublish/getarticle", token: token, ["article_id": articleID])
            #expect(Drafts.newsItems(article).map { $0["title"] as? String } == ["One", "Two"])
            #expect(Drafts.newsItems(article).map { $0["is_deleted"] as? Bool } == [false, false])

            let delete = "freepublish/delete"
            #expect(
                try await Drafts.post(f, delete, token: token, ["article_id": articleID, "index": 3]).errcode == 47001)
            #expect(try await Drafts.post(f, delete, token: token, ["article_id": articleID, "index": 2]).errcode == 0)
            let afterOne = try await Drafts.post(f, "freepublish/getarticle", token: token, ["article_id": articleID])
            #expect(Drafts.newsItems(afterOne).map { $0["is_deleted"] as? Bool } == [false, true])
            #expect(try await f.request(.GET, try MaterialEndpointTests.pathOf(items[1]["article_url"])).status == 404)
            #expect(try await Drafts.post(f, delete, token: token, ["article_id": articleID, "index": 0]).errcode == 0)
            #expect(
                try await Drafts.post(f, "freepublish/getarticle", token: token, ["article_id": articleID]).errcode
                    == 40007)
            #expect(try await Drafts.post(f, delete, token: token, ["article_id": articleID]).errcode == 40007)
            #expect(try await Self.status(f, token: token, publishID: publishID)["publish_status"] as? Int == 5)
            #expect(try await Self.status(f, token: token, publishID: 1)["errcode"] as? Int == 40007)
        }
    }

    @Test func aTestMayMakeTheNextPublishFail() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let draft = try await Self.draft(f, token: token, titles: ["A", "B", "C"])
            try await f.control(.POST, "publish/next", json: #"{"publish_status":4,"fail_idx":[2,3]}"#)
            let first = try await Self.submit(f, token: token, draft: draft)
            let failedID = try #require(first.json["publish_id"] as? String)
            try await f.advanceClock(seconds: 10)
            let failed = try await Self.status(f, token: token, publishID: failedID)
            #expect(failed["publish_status"] as? Int == 4 && failed["fail_idx"] as? [Int] == [2, 3], "\(failed)")
            #expect(failed["article_id"] == nil)
            #expect(
                try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").json["total_count"] as? Int
                    == 1, "a failed draft stays")

            // Only the next one: submitted again, it is published.
            try await f.control(.POST, "publish/seconds?seconds=0")
            let second = try await Self.submit(f, token: token, draft: draft)
            let publishedID = try #require(second.json["publish_id"] as? String)
            #expect(publishedID != failedID)
            #expect(try await Self.status(f, token: token, publishID: publishedID)["publish_status"] as? Int == 0)

            for bad in [
                #"{"publish_status":0}"#, #"{"publish_status":5}"#, #"{"publish_status":3,"fail_idx":[9]}"#, "x",
            ] {
                let reply = try await f.request(.POST, "/_emulator/publish/next", body: Array(bad.utf8))
                #expect(reply.status == 400, "\(bad)")
            }
            #expect(try await f.request(.POST, "/_emulator/publish/seconds?seconds=-1").status == 400)
        }
    }

    @Test func publishedMessagesOutliveARestart() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let publishID = try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            let draft = try await Self.draft(f, token: token, titles: ["Kept"])
            let submitted = try await Self.submit(f, token: token, draft: draft)
            try await f.advanceClock(seconds: 60)
            return try #require(submitted.json["publish_id"] as? String)
        }
        try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            // The clock starts afresh, but a job ended when its time had come: it was due already.
            let status = try await Self.status(f, token: token, publishID: publishID)
            #expect(status["publish_status"] as? Int == 1 || status["publish_status"] as? Int == 0)
            try await f.advanceClock(seconds: 60)
            let done = try await Self.status(f, token: token, publishID: publishID)
            #expect(done["publish_status"] as? Int == 0, "\(done)")
            let listed = try await Drafts.post(f, "freepublish/batchget", token: token, ["offset": 0, "count": 20])
            #expect(listed.json["total_count"] as? Int == 1)
        }
    }

    @Test func publishCallsPastTheirQuotaGet45009() async throws {
        var quota = DailyQuota.documented(for: .seed)
        quota[.publishSubmit] = 1
        quota[.publishGet] = 1
        try await Fixture.with(dailyQuota: quota) { f in
            let token = try await f.legacyToken()
            let one = try await Self.draft(f, token: token, titles: ["1"])
            let two = try await Self.draft(f, token: token, titles: ["2"])
            let submitted = try await Self.submit(f, token: token, draft: one)
            #expect(try await Self.submit(f, token: token, draft: two).errcode == 45009)
            let publishID = try #require(submitted.json["publish_id"] as? String)
            #expect(try await Self.status(f, token: token, publishID: publishID)["publish_status"] as? Int == 1)
            #expect(try await Self.status(f, token: token, publishID: publishID)["errcode"] as? Int == 45009)
            let reading = try await f.quota(of: "/cgi-bin/freepublish/submit", token: token).json["quota"]
            #expect(reading as? [String: Int] == ["daily_limit": 1, "used": 1, "remain": 0])
            #expect(try await f.counters()["freepublish_submit"] == 2)
        }
    }

    @Test func theCommandLineTakesThePublishTime() async throws {
        let refused = try await Command.run(Command.wxmediafsPath, ["emulator", "--publish-seconds", "-3"])
        #expect(refused.status == 64, "\(refused.stderr)")
        let help = try await Command.run(Command.wxmediafsPath, ["emulator", "--help"])
        #expect(help.stdout.contains("--publish-seconds") && help.stdout.contains("draft/add"), "\(help.stdout)")
    }
}
