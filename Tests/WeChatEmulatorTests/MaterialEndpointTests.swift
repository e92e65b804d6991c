import EmulatorTestSupport
import Foundation
import Testing
import WeChatEmulator
import WeChatMedia

@Suite("Emulator: the permanent material library and media/uploadimg")
struct MaterialEndpointTests {
    typealias Fixture = EmulatorFixture

    /// A multipart body of text fields and one file part `media`, in the order given.
    static func form(
        fields: [(String, String)] = [], media: [UInt8], disposition: String, fieldsAfterMedia: Bool = false
    ) -> (body: [UInt8], contentType: String) {
        let boundary = "MaTeRiAlBoUnDaRy"
        var fieldBytes: [UInt8] = []
        for (name, value) in fields {
            fieldBytes += Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        var mediaBytes = Array(
            "--\(boundary)\r\nContent-Disposition: \(disposition)\r\nContent-Type: application/octet-stream\r\n\r\n"
                .utf8)
        mediaBytes += media + Array("\r\n".utf8)
        let body =
            (fieldsAfterMedia ? mediaBytes + fieldBytes : fieldBytes + mediaBytes) + Array("--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    static func add(
        _ f: Fixture, token: String, query: String = "", fields: [(String, String)] = [], media: [UInt8],
        filename: String, fieldsAfterMedia: Bool = false
    ) async throws -> Fixture.Reply {
        let form = Self.form(
            fields: fields, media: media, disposition: "form-data; name=\"media\"; filename=\"\(filename)\"",
            fieldsAfterMedia: fieldsAfterMedia)
        return try await f.request(
            .POST, "/cgi-bin/material/add_material?access_token=\(token)\(query)", body: form.body,
            headers: [("Content-Type", form.contentType)])
    }

    static func post(_ f: Fixture, _ path: String, token: String, json: String) async throws -> Fixture.Reply {
        try await f.request(.POST, "/cgi-bin/\(path)?access_token=\(token)", body: Array(json.utf8))
    }

    /// The path and query of an absolute URL the emulator gave out, to fetch it through the fixture.
    static func pathOf(_ url: Any?) throws -> String {
        let text = try #require(url as? String)
        let components = try #require(URLComponents(string: text))
        #expect(components.scheme == "http")
        return components.path
    }

    @Test func eachTypeIsAddedAndReadBackAsItsBytes() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let cat = Samples.bytes("cat.jpg")
            let image = try await Self.add(f, token: token, query: "&type=image", media: cat, filename: "cat.jpg")
            let imageID = try #require(image.json["media_id"] as? String)
            #expect(imageID.count == 64)
            #expect(try await f.request(.GET, try Self.pathOf(image.json["url"])).body == cat, "the url serves it")

            for (name, type) in [("hello.mp3", "voice"), ("thumb.jpg", "thumb")] {
                let added = try await Self.add(
                    f, token: token, query: "&type=\(type)", media: Samples.bytes(name), filename: name)
                let id = try #require(added.json["media_id"] as? String, "\(added.json)")
                #expect(added.json["url"] == nil, "only images have a url")
                let got = try await Self.post(f, "material/get_material", token: token, json: #"{"media_id":"\#(id)"}"#)
                #expect(got.body == Samples.bytes(name))
                #expect(got.header("Content-disposition")?.hasPrefix("attachment; filename=") == true)
            }
            let got = try await Self.post(
                f, "material/get_material", token: token, json: #"{"media_id":"\#(imageID)"}"#)
            #expect(got.body == cat)

            // wechatpy: description in the query, JSON with \u escapes.
            let description = #"{"title":"\u732b\u7684\u89c6\u9891","introduction":"an intro"}"#
            let query =
                "&type=video&description="
                + (description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            let clip = Samples.bytes("clip.mp4")
            let video = try await Self.add(f, token: token, query: query, media: clip, filename: "clip.mp4")
            let videoID = try #require(video.json["media_id"] as? String, "\(video.json)")
            let answer = try await Self.post(
                f, "material/get_material", token: token, json: #"{"media_id":"\#(videoID)"}"#)
            #expect(answer.json["title"] as? String == "猫的视频")
            #expect(answer.json["description"] as? String == "an intro")
            #expect(answer.header("Content-disposition") == nil, "a video answers JSON, not bytes")
            #expect(try await f.request(.GET, try Self.pathOf(answer.json["down_url"])).body == clip)

            let counts = try await f.request(.GET, "/cgi-bin/material/get_materialcount?access_token=\(token)")
            #expect(counts.json["image_count"] as? Int == 1)
            #expect(counts.json["voice_count"] as? Int == 1)
            #expect(counts.json["video_count"] as? Int == 1)
            #expect(counts.json["news_count"] as? Int == 0)
        }
    }

    @Test func everyWayTheSDKsSendTypeAndDescriptionIsTaken() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            // EasyWeChat: type as a form field.
            let byField = try await Self.add(
                f, token: token, fields: [("type", "image")], media: Samples.bytes("cat.jpg"), filename: "cat.jpg")
            #expect(byField.json["media_id"] is String, "\(byField.json)")
            // WxJava: description as a form field for every type, after the file; ignored for an image.
            let withDescription = try await Self.add(
                f, token: token, query: "&type=image",
                fields: [("description", #"{"title":null,"introduction":null}"#)], media: Samples.bytes("cat.jpg"),
                filename: "cat2.jpg", fieldsAfterMedia: true)
            #expect(withDescription.json["media_id"] is String, "\(withDescription.json)")
            // WeRoBot, silenceper: a video's description as a form field.
            let video = try await Self.add(
                f, token: token, query: "&type=video",
                fields: [("description", #"{"title":"clip","introduction":"intro"}"#)],
                media: Samples.bytes("clip.mp4"),
                filename: "clip.mp4")
            let videoID = try #require(video.json["media_id"] as? String, "\(video.json)")
            let answer = try await Self.post(
                f, "material/get_material", token: token, json: #"{"media_id":"\#(videoID)"}"#)
            #expect(answer.json["title"] as? String == "clip")
            let bad = try await Self.add(
                f, token: token, query: "&type=video", fields: [("description", "not json")],
                media: Samples.bytes("clip.mp4"), filename: "clip.mp4")
            #expect(bad.errcode == 47001)
        }
    }

    @Test func namesAreKeptRawAndRFC2231NamesRefused() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let raw = try await Self.add(
                f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "猫咪.jpg")
            #expect(raw.json["media_id"] is String, "\(raw.json)")
            let form = Self.form(
                media: Samples.bytes("cat.jpg"),
                disposition: "form-data; name=\"media\"; filename=\"cat.jpg\"; filename*=utf-8''%E7%8C%AB.jpg")
            let extended = try await f.request(
                .POST, "/cgi-bin/material/add_material?access_token=\(token)&type=image", body: form.body,
                headers: [("Content-Type", form.contentType)])
            #expect(extended.errcode == 41005)
            let listed = try await Self.post(
                f, "material/batchget_material", token: token, json: #"{"type":"image","offset":0,"count":20}"#)
            let items = try #require(listed.json["item"] as? [[String: Any]])
            #expect(items.map { $0["name"] as? String } == ["猫咪.jpg"])
        }
    }

    @Test func badAddsGetTheRealErrcodes() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let cat = Samples.bytes("cat.jpg")
            #expect(try await Self.add(f, token: token, media: cat, filename: "cat.jpg").errcode == 40004, "no type")
            #expect(
                try await Self.add(f, token: token, query: "&type=picture", media: cat, filename: "cat.jpg").errcode
                    == 40004)
            #expect(
                try await Self.add(f, token: token, query: "&type=image", media: cat, filename: "cat").errcode == 40005)
            #expect(
                try await Self.add(
                    f, token: token, query: "&type=thumb", media: Samples.bytes("cat.png"), filename: "t.jpg"
                ).errcode == 40005)
            // A thumb is at most 64 KB.
            let big = cat + [UInt8](repeating: 0, count: 70 * 1024)
            #expect(
                try await Self.add(f, token: token, query: "&type=thumb", media: big, filename: "t.jpg").errcode
                    == 40012)
            #expect(
                try await Self.add(f, token: "nonsense", query: "&type=image", media: cat, filename: "cat.jpg").errcode
                    == 40001)
        }
    }

    @Test func listingPagesNewestFirstFromTheBodyOnly() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            var ids: [String] = []
            for index in 0..<3 {
                let added = try await Self.add(
                    f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "c\(index).jpg")
                ids.append(try #require(added.json["media_id"] as? String))
            }
            func page(_ json: String) async throws -> Fixture.Reply {
                try await Self.post(f, "material/batchget_material", token: token, json: json)
            }
            let first = try await page(#"{"type":"image","offset":0,"count":2}"#)
            #expect(first.json["total_count"] as? Int == 3)
            #expect(first.json["item_count"] as? Int == 2)
            let firstItems = try #require(first.json["item"] as? [[String: Any]])
            #expect(firstItems.map { $0["media_id"] as? String } == [ids[2], ids[1]], "newest first")
            #expect(firstItems.allSatisfy { $0["update_time"] is Int && $0["url"] is String })
            let second = try await page(#"{"type":"image","offset":"2","count":true}"#)
            #expect(
                (second.json["item"] as? [[String: Any]])?.map { $0["media_id"] as? String } == [ids[0]],
                "\(second.json)")
            #expect(try await page(#"{"type":"image","offset":0,"count":21}"#).errcode == 47001)
            #expect(try await page(#"{"type":"image","offset":-1,"count":20}"#).errcode == 47001)
            #expect(try await page(#"{"type":"thumb","offset":0,"count":20}"#).errcode == 40004, "no thumb list")
            #expect(try await page(#"{"type":"news","offset":0,"count":20}"#).json["total_count"] as? Int == 0)
            let inQuery = try await f.request(
                .POST, "/cgi-bin/material/batchget_material?access_token=\(token)&type=image&offset=0&count=20")
            #expect(inQuery.errcode == 40004, "parameters in the query alone are not read")
        }
    }

    @Test func deletedMaterialIsGoneAndFullLibrariesRefuse() async throws {
        try await Fixture.with(materialCaps: MaterialCaps(image: 2, voice: 1, video: 1)) { f in
            let token = try await f.legacyToken()
            let voice = try await Self.add(
                f, token: token, query: "&type=voice", media: Samples.bytes("hello.mp3"), filename: "a.mp3")
            let id = try #require(voice.json["media_id"] as? String)
            let full = try await Self.add(
                f, token: token, query: "&type=voice", media: Samples.bytes("hello.mp3"), filename: "b.mp3")
            #expect(full.errcode == 45034)
            let deleted = try await Self.post(f, "material/del_material", token: token, json: #"{"media_id":"\#(id)"}"#)
            #expect(deleted.errcode == 0)
            #expect(
                try await Self.post(f, "material/get_material", token: token, json: #"{"media_id":"\#(id)"}"#).errcode
                    == 40007)
            #expect(
                try await Self.post(f, "material/del_material", token: token, json: #"{"media_id":"\#(id)"}"#).errcode
                    == 40007)
            #expect(try await Self.post(f, "material/get_material", token: token, json: "{}").errcode == 41006)
            let again = try await Self.add(
                f, token: token, query: "&type=voice", media: Samples.bytes("hello.mp3"), filename: "c.mp3")
            #expect(again.json["media_id"] is String, "room again after the delete")
            // Thumbs count with images.
            _ = try await Self.add(
                f, token: token, query: "&type=thumb", media: Samples.bytes("thumb.jpg"), filename: "t.jpg")
            _ = try await Self.add(
                f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "i.jpg")
            #expect(
                try await Self.add(
                    f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "j.jpg"
                ).errcode == 45034)
        }
    }

    @Test func materialOutlivesARestartAndNeverExpires() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let id = try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            let added = try await Self.add(
                f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "keep.jpg")
            try await f.advanceClock(seconds: 30 * 24 * 3600)
            return try #require(added.json["media_id"] as? String)
        }
        try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            let got = try await Self.post(f, "material/get_material", token: token, json: #"{"media_id":"\#(id)"}"#)
            #expect(got.body == Samples.bytes("cat.jpg"))
            let later = try await Self.add(
                f, token: token, query: "&type=image", media: Samples.bytes("cat.jpg"), filename: "new.jpg")
            let listed = try await Self.post(
                f, "material/batchget_material", token: token, json: #"{"type":"image","offset":0,"count":20}"#)
            let names = (listed.json["item"] as? [[String: Any]])?.map { $0["name"] as? String }
            #expect(later.json["media_id"] is String)
            #expect(names == ["new.jpg", "keep.jpg"], "order kept across the restart")
        }
    }

    @Test func articleImagesTakeJPEGAndPNGUpToOneMegabyte() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            func uploadImage(_ content: [UInt8], _ filename: String) async throws -> Fixture.Reply {
                let part = Fixture.multipart(
                    disposition: "form-data; name=\"media\"; filename=\"\(filename)\"", content: content)
                return try await f.request(
                    .POST, "/cgi-bin/media/uploadimg?access_token=\(token)", body: part.body,
                    headers: [("Content-Type", part.contentType)])
            }
            for name in ["cat.jpg", "cat.png"] {
                let reply = try await uploadImage(Samples.bytes(name), name)
                #expect(
                    try await f.request(.GET, try Self.pathOf(reply.json["url"])).body == Samples.bytes(name),
                    "\(reply.json)")
            }
            #expect(try await uploadImage(Samples.bytes("clip.mp4"), "clip.mp4").errcode == 40005)
            let tooBig = Samples.bytes("cat.jpg") + [UInt8](repeating: 0, count: 1024 * 1024)
            #expect(try await uploadImage(tooBig, "big.jpg").errcode == 40009)
            let counts = try await f.request(.GET, "/cgi-bin/material/get_materialcount?access_token=\(token)")
            #expect(counts.json["image_count"] as? Int == 0, "article images are not in the library")
        }
    }
}
