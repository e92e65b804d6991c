import EmulatorTestSupport
import Foundation
import Testing
import WeChatEmulator
import WeChatMedia

@Suite("Emulator: the draft box (draft/...)")
struct DraftEndpointTests {
    typealias Fixture = EmulatorFixture

    static func post(_ f: Fixture, _ path: String, token: String, _ object: [String: Any]) async throws
        -> Fixture.Reply
    {
        let body = try JSONSerialization.data(withJSONObject: object)
        return try await f.request(.POST, "/cgi-bin/\(path)?access_token=\(token)", body: Array(body))
    }

    /// A permanent material of `type` ("thumb", "image", "voice") from a sample.
    static func material(_ f: Fixture, token: String, type: String, sample: String = "thumb.jpg") async throws
        -> String
    {
        let added = try await MaterialEndpointTests.add(
            f, token: token, query: "&type=\(type)", media: Samples.bytes(sample), filename: sample)
        return try #require(added.json["media_id"] as? String, "\(added.json)")
    }

    static func article(thumb: String, title: String = "A title", content: String = "<p>Hello</p>")
        -> [String: Any]
    {
        ["title": title, "author": "me", "digest": "short", "content": content, "thumb_media_id": thumb]
    }

    static func add(_ f: Fixture, token: String, _ articles: [[String: Any]]) async throws -> Fixture.Reply {
        try await post(f, "draft/add", token: token, ["articles": articles])
    }

    static func newsItems(_ reply: Fixture.Reply) -> [[String: Any]] {
        reply.json["news_item"] as? [[String: Any]] ?? []
    }

    @Test func aDraftIsAddedReadListedCountedUpdatedAndDeleted() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let thumb = try await Self.material(f, token: token, type: "thumb")
            let added = try await Self.add(
                f, token: token,
                [Self.article(thumb: thumb, title: "First"), Self.article(thumb: thumb, title: "Second")])
            let id = try #require(added.json["media_id"] as? String, "\(added.json)")
            #expect(id.count == 64)

            let got = try await Self.post(f, "draft/get", token: token, ["media_id": id])
            let items = Self.newsItems(got)
            #expect(items.map { $0["title"] as? String } == ["First", "Second"])
            #expect(items.first?["content"] as? String == "<p>Hello</p>")
            #expect(items.first?["thumb_media_id"] as? String == thumb)
            let page = try #require(items.first?["url"] as? String)
            #expect(
                String(decoding: try await f.request(.GET, try MaterialEndpointTests.pathOf(page)).body, as: UTF8.self)
                    .contains("<h1>First</h1>"), "the draft's url serves it as HTML")

            let count = try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)")
            #expect(count.json["total_count"] as? Int == 1)

            // no_content as a number or a JSON bool (silenceper); content comes only when asked.
            for noContent: Any in [1, true] {
                let listed = try await Self.post(
                    f, "draft/batchget", token: token, ["offset": 0, "count": 20, "no_content": noContent])
                #expect(listed.json["total_count"] as? Int == 1 && listed.json["item_count"] as? Int == 1)
                let item = try #require((listed.json["item"] as? [[String: Any]])?.first)
                #expect(item["media_id"] as? String == id && item["update_time"] is Int)
                let news = (item["content"] as? [String: Any])?["news_item"] as? [[String: Any]] ?? []
                #expect(news.count == 2 && news.allSatisfy { $0["content"] == nil }, "\(noContent)")
            }
            for noContent: Any in [0, false] {
                let listed = try await Self.post(
                    f, "draft/batchget", token: token, ["offset": 0, "count": 1, "no_content": noContent])
                let item = (listed.json["item"] as? [[String: Any]])?.first
                let news = (item?["content"] as? [String: Any])?["news_item"] as? [[String: Any]] ?? []
                #expect(news.first?["content"] as? String == "<p>Hello</p>", "\(noContent)")
            }
            for bad: [String: Any] in [["count": 0], ["count": 21], ["offset": -1], ["no_content": 2]] {
                #expect(try await Self.post(f, "draft/batchget", token: token, bad).errcode == 47001, "\(bad)")
            }

            let update = try await Self.post(
                f, "draft/update", token: token,
                ["media_id": id, "index": 1, "articles": Self.article(thumb: thumb, title: "Second, again")])
            #expect(update.errcode == 0, "\(update.json)")
            let updated = Self.newsItems(try await Self.post(f, "draft/get", token: token, ["media_id": id]))
            #expect(updated.map { $0["title"] as? String } == ["First", "Second, again"])
            for index in [2, -1] {
                let out = try await Self.post(
                    f, "draft/update", token: token,
                    ["media_id": id, "index": index, "articles": Self.article(thumb: thumb)])
                #expect(out.errcode == 47001, "index \(index) names no article")
            }
            let tooLong = try await Self.post(
                f, "draft/update", token: token,
                [
                    "media_id": id, "index": 0,
                    "articles": Self.article(thumb: thumb, title: String(repeating: "t", count: 33)),
                ])
            #expect(tooLong.errcode == 45003, "update checks as add does")

            #expect(try await Self.post(f, "draft/delete", token: token, ["media_id": id]).errcode == 0)
            #expect(try await Self.post(f, "draft/get", token: token, ["media_id": id]).errcode == 40007)
            #expect(try await Self.post(f, "draft/delete", token: token, ["media_id": id]).errcode == 40007)
            #expect(
                try await Self.post(
                    f, "draft/update", token: token,
                    ["media_id": id, "index": 0, "articles": Self.article(thumb: thumb)]
                ).errcode == 40007)
            #expect(try await Self.post(f, "draft/get", token: token, ["media_id": "nope"]).errcode == 40007)
            #expect(try await Self.post(f, "draft/get", token: token, [:]).errcode == 41006)
            #expect(
                try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").json["total_count"] as? Int == 0
            )
        }
    }

    @Test func eachFieldLimitGetsThePlatformsErrcode() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let thumb = try await Self.material(f, token: token, type: "thumb")
            func code(_ change: (inout [String: Any]) -> Void) async throws -> Int? {
                var article = Self.article(thumb: thumb)
                change(&article)
                let reply = try await Self.add(f, token: token, [article])
                return reply.errcode ?? (reply.json["media_id"] is String ? 0 : nil)
            }
            #expect(try await code { $0["title"] = String(repeating: "题", count: 32) } == 0, "32 characters are fine")
            #expect(try await code { $0["title"] = String(repeating: "题", count: 33) } == 45003)
            #expect(try await code { $0["author"] = String(repeating: "a", count: 16) } == 0)
            #expect(try await code { $0["author"] = String(repeating: "a", count: 17) } == 45021)
            #expect(try await code { $0["digest"] = String(repeating: "d", count: 128) } == 0)
            #expect(try await code { $0["digest"] = String(repeating: "d", count: 129) } == 45004)
            #expect(try await code { $0["content"] = String(repeating: "c", count: 19_999) } == 0)
            #expect(try await code { $0["content"] = String(repeating: "c", count: 20_000) } == 45002)
            // Under 20,000 characters but 1 MB or more: each character a letter with 40 accents.
            let heavy = "e" + String(repeating: "\u{301}", count: 40)
            #expect(try await code { $0["content"] = String(repeating: heavy, count: 13_000) } == 45002)
            #expect(
                try await code {
                    $0["content_source_url"] = "http://example.com/" + String(repeating: "u", count: 1100)
                } == 45005)
            #expect(try await code { $0["content_source_url"] = "http://example.com/a" } == 0)
            #expect(try await code { $0["title"] = nil } == 44003, "no title: empty news data")
            #expect(try await code { $0["content"] = "" } == 44003, "no content: empty news data")
            #expect(try await code { $0["thumb_media_id"] = nil } == 41006)
            #expect(try await code { $0["need_open_comment"] = 2 } == 47001)
            #expect(try await code { $0["need_open_comment"] = true } == 0)

            #expect(
                try await Self.add(f, token: token, Array(repeating: Self.article(thumb: thumb), count: 8)).errcode
                    == nil)
            #expect(
                try await Self.add(f, token: token, Array(repeating: Self.article(thumb: thumb), count: 9)).errcode
                    == 45008)
            #expect(try await Self.add(f, token: token, []).errcode == 44003)
            #expect(
                try await Self.post(f, "draft/add", token: token, ["articles": Self.article(thumb: thumb)]).errcode
                    == 44003, "an object, not a list")
            #expect(
                try await Self.post(f, "draft/add", token: token, Self.article(thumb: thumb)).errcode == 44003,
                "unwrapped")
            #expect(try await Self.add(f, token: token, [["x": 1]]).errcode == 44003)
            #expect(
                try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").json["total_count"] as? Int == 7
            )
        }
    }

    @Test func theCoverMustBePermanentImageOrThumbMaterial() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let temporary = try #require(
                try await f.upload(Samples.bytes("thumb.jpg"), filename: "thumb.jpg", type: "thumb", token: token)
                    .json["thumb_media_id"] as? String)
            let voice = try await Self.material(f, token: token, type: "voice", sample: "hello.mp3")
            for bad in [temporary, voice, String(repeating: "x", count: 64)] {
                #expect(try await Self.add(f, token: token, [Self.article(thumb: bad)]).errcode == 40007, "\(bad)")
            }
            let image = try await Self.material(f, token: token, type: "image", sample: "cat.jpg")
            let thumb = try await Self.material(f, token: token, type: "thumb")
            for good in [image, thumb] {
                #expect(try await Self.add(f, token: token, [Self.article(thumb: good)]).json["media_id"] is String)
            }
            // A picture post takes permanent images instead of a cover.
            var picture: [String: Any] = ["article_type": "newspic", "title": "Pics", "content": "text"]
            picture["image_info"] = ["image_list": [["image_media_id": image]]]
            #expect(try await Self.add(f, token: token, [picture]).json["media_id"] is String)
            picture["image_info"] = ["image_list": [["image_media_id": thumb]]]
            #expect(try await Self.add(f, token: token, [picture]).errcode == 40007)
        }
    }

    @Test func bodyImagesFromElsewhereAreStrippedAndOwnOnesKept() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let part = Fixture.multipart(
                disposition: "form-data; name=\"media\"; filename=\"cat.png\"", content: Samples.bytes("cat.png"))
            let uploaded = try await f.request(
                .POST, "/cgi-bin/media/uploadimg?access_token=\(token)", body: part.body,
                headers: [("Content-Type", part.contentType)])
            let own = try #require(uploaded.json["url"] as? String)
            let imageMaterial = try await MaterialEndpointTests.add(
                f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "cat.jpg")
            let ownMaterial = try #require(imageMaterial.json["url"] as? String)
            let foreign = "http://example.com/cat.jpg"
            let content =
                "<p>a</p><img src=\"\(own)\" alt=\"x\"><IMG SRC='\(foreign)'/><img src=\(ownMaterial)>"
                + "<img data-x=1><img src=\"http://mmbiz.qpic.cn/mmbiz_jpg/abc/0\"><p>b</p>"
            let thumb = try await Self.material(f, token: token, type: "thumb")
            let added = try await Self.add(f, token: token, [Self.article(thumb: thumb, content: content)])
            let id = try #require(added.json["media_id"] as? String)
            let stored =
                Self.newsItems(try await Self.post(f, "draft/get", token: token, ["media_id": id]))
                .first?["content"] as? String
            #expect(stored == "<p>a</p><img src=\"\(own)\" alt=\"x\"><img src=\(ownMaterial)><p>b</p>")
        }
    }

    @Test func draftsOutliveARestart() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let id = try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            let thumb = try await Self.material(f, token: token, type: "thumb")
            let gone = try await Self.add(f, token: token, [Self.article(thumb: thumb, title: "Gone")])
            let goneID = try #require(gone.json["media_id"] as? String)
            #expect(try await Self.post(f, "draft/delete", token: token, ["media_id": goneID]).errcode == 0)
            let kept = try await Self.add(f, token: token, [Self.article(thumb: thumb, title: "Kept")])
            return try #require(kept.json["media_id"] as? String)
        }
        try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            let items = Self.newsItems(try await Self.post(f, "draft/get", token: token, ["media_id": id]))
            #expect(items.map { $0["title"] as? String } == ["Kept"])
            #expect(
                try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").json["total_count"] as? Int == 1
            )
        }
    }

    @Test func draftCallsPastTheirQuotaGet45009AndQuotaGetSaysSo() async throws {
        var quota = DailyQuota.documented(for: .seed)
        quota[.draftAdd] = 1
        quota[.draftCount] = 2
        quota[.addMaterial] = 2
        try await Fixture.with(dailyQuota: quota) { f in
            let token = try await f.legacyToken()
            let thumb = try await Self.material(f, token: token, type: "thumb")
            #expect(try await Self.add(f, token: token, [Self.article(thumb: thumb)]).json["media_id"] is String)
            #expect(try await Self.add(f, token: token, [Self.article(thumb: thumb)]).errcode == 45009)
            for _ in 0..<2 {
                #expect(try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").errcode == nil)
            }
            #expect(try await f.request(.GET, "/cgi-bin/draft/count?access_token=\(token)").errcode == 45009)
            _ = try await Self.material(f, token: token, type: "thumb")
            let third = try await MaterialEndpointTests.add(
                f, token: token, query: "&type=thumb", media: Samples.bytes("thumb.jpg"), filename: "thumb.jpg")
            #expect(third.errcode == 45009, "add_material is metered too")
            func reading(_ path: String) async throws -> [Int]? {
                let quota = try await f.quota(of: path, token: token).json["quota"] as? [String: Int]
                return quota.map { [$0["daily_limit"] ?? -1, $0["used"] ?? -1, $0["remain"] ?? -1] }
            }
            #expect(try await reading("/cgi-bin/draft/add") == [1, 1, 0])
            #expect(try await reading("/cgi-bin/draft/count") == [2, 2, 0])
            #expect(try await reading("/cgi-bin/material/add_material") == [2, 2, 0])
            try await f.control(.POST, "reset")
            let fresh = try await f.legacyToken()
            #expect(
                try await f.quota(of: "/cgi-bin/draft/add", token: fresh).json["quota"] as? [String: Int] == [
                    "daily_limit": 1, "used": 0, "remain": 1,
                ])
        }
    }

    @Test func theNewPathsHaveTheDocumentedQuotas() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let expected: [String: Int] = [
                "draft/add": 1000, "draft/get": 500, "draft/update": 1000, "draft/delete": 1000, "draft/count": 1000,
                "draft/batchget": 1000, "freepublish/submit": 100, "freepublish/get": 100, "freepublish/delete": 10,
                "freepublish/batchget": 100, "freepublish/getarticle": 100, "material/add_material": 1000,
            ]
            for (path, limit) in expected {
                let quota = try await f.quota(of: "/cgi-bin/" + path, token: token).json["quota"] as? [String: Int]
                #expect(quota == ["daily_limit": limit, "used": 0, "remain": limit], "\(path)")
            }
        }
    }

    @Test func theDailyQuotaTakesEveryMeteredPathByName() {
        let seed = DailyQuota.documented(for: .seed)
        let parsed = DailyQuota(parsing: "draft/add=3,freepublish/submit=0,upload=7,media/get=9", base: seed)
        #expect(parsed?[.draftAdd] == 3 && parsed?[.publishSubmit] == 0)
        #expect(parsed?.upload == 7 && parsed?.download == 9)
        #expect(parsed?[.draftGet] == 500, "the rest keep the base's")
        #expect(DailyQuota(parsing: "4", base: seed)?[.draftAdd] == 1000, "N is uploads and downloads only")
        #expect(DailyQuota(parsing: "4", base: seed)?.download == 4)
        for bad in ["draft/nope=1", "/cgi-bin/draft/add=1", "draft/add=-1", "draft/add"] {
            #expect(DailyQuota(parsing: bad, base: seed) == nil, "\(bad)")
        }
        #expect(MeteredAPI.allCases.allSatisfy { DailyQuota(parsing: "\($0.key)=5", base: seed)?[$0] == 5 })
    }
}
