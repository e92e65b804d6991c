import EmulatorTestSupport
import Testing
import WeChatMedia

@Suite("Emulator: /cgi-bin/media/upload")
struct UploadEndpointTests {
    typealias Fixture = EmulatorFixture

    func isMediaID(_ value: Any?) -> Bool {
        guard let id = value as? String else { return false }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return id.count == 64 && id.allSatisfy(alphabet.contains)
    }

    @Test func eachTypeUploadsWithTheAPIsReplyShape() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            for (name, type) in [
                ("cat.jpg", "image"), ("hello.mp3", "voice"), ("hello.amr", "voice"), ("clip.mp4", "video"),
            ] {
                let reply = try await f.upload(Samples.bytes(name), filename: name, type: type, token: token)
                #expect(reply.status == 200)
                #expect(reply.json["type"] as? String == type)
                #expect(isMediaID(reply.json["media_id"]), "\(name): \(reply.json)")
                #expect(reply.json["created_at"] is Int)
                #expect(reply.json["errcode"] == nil, "the seed's reply has no errcode")
            }
            let thumb = try await f.upload(
                Samples.bytes("thumb.jpg"), filename: "thumb.jpg", type: "thumb", token: token)
            #expect(isMediaID(thumb.json["thumb_media_id"]))
            #expect(thumb.json["media_id"] == nil)
        }
    }

    @Test func theCurrentProfileTakesPNGAndAddsErrcodeZero() async throws {
        try await Fixture.with(limits: .current) { f in
            let token = try await f.legacyToken()
            let reply = try await f.upload(Samples.bytes("cat.png"), filename: "cat.png", type: "image", token: token)
            #expect(isMediaID(reply.json["media_id"]))
            #expect(reply.errcode == 0)
            #expect(reply.json["errmsg"] as? String == "ok")
        }
    }

    @Test func badUploadsGetTheRealErrcodes() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let jpeg = Samples.bytes("cat.jpg")
            func upload(_ content: [UInt8], _ filename: String, _ type: String = "image") async throws -> Int? {
                try await f.upload(content, filename: filename, type: type, token: token).errcode
            }
            #expect(try await upload(jpeg, "cat.jpg", "picture") == 40004)
            #expect(
                try await f.request(.POST, "/cgi-bin/media/upload?access_token=\(token)", body: jpeg).errcode == 40004)
            #expect(try await upload(jpeg, "cat") == 40005, "no extension")
            #expect(try await upload(jpeg, "") == 40005, "nameless")
            #expect(try await upload(jpeg, "cat.png") == 40005, "extension not allowed for image under seed")
            #expect(try await upload(Samples.bytes("cat.png"), "cat.jpg") == 40005, "right extension, wrong magic")
            #expect(try await upload(Array("hello".utf8), "cat.jpg") == 40005)
            #expect(try await upload([], "cat.jpg") == 44001)
            #expect(try await upload(Samples.jpeg(size: 1024 * 1024 + 1), "big.jpg") == 40009)
            #expect(try await upload(Samples.jpeg(size: 64 * 1024), "t.jpg", "thumb") == nil, "exactly at the limit")
            #expect(try await upload(Samples.jpeg(size: 64 * 1024 + 1), "t.jpg", "thumb") == 40012)
            #expect(try await upload(Samples.bytes("long70s.mp3"), "long.mp3", "voice") == 45007)
            #expect(try await upload(Samples.bytes("long70s.amr"), "long.amr", "voice") == 45007)
            #expect(try await upload(Samples.bytes("clip.mp4").dropLast(100).map { $0 }, "cut.mp4", "video") == 40005)

            // Multipart shapes the platform refuses.
            func raw(_ disposition: String, contentType: String? = nil) async throws -> Int? {
                let part = Fixture.multipart(disposition: disposition, content: jpeg)
                return try await f.request(
                    .POST, "/cgi-bin/media/upload?access_token=\(token)&type=image", body: part.body,
                    headers: [("Content-Type", contentType ?? part.contentType)]
                ).errcode
            }
            #expect(try await raw(#"form-data; name="media""#) == 41005, "no filename")
            #expect(try await raw(#"form-data; name="media"; filename*=UTF-8''cat.jpg"#) == 41005)
            #expect(try await raw(#"form-data; name="media"; filename="猫.jpg""#) == 41005, "non-ASCII filename")
            #expect(try await raw(#"form-data; name="file"; filename="cat.jpg""#) == 41005, "no part named media")
            #expect(try await raw(#"form-data; name="media"; filename="cat.jpg""#, contentType: "image/jpeg") == 41005)
            #expect(try await raw(#"form-data; name="media"; filename="cat.jpg""#) == nil)
        }
    }

    @Test func aBodyFarOverEveryLimitIsRefusedWithoutBeingRead() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            // Declares 200 MiB but sends a few bytes: the answer can only come from the header.
            let result = try await Command.curl([
                "-i", "-H", "Content-Type: multipart/form-data; boundary=x", "-H",
                "Content-Length: \(200 * 1024 * 1024)",
                "--data-binary", "--x\r\n", f.baseURL + "/cgi-bin/media/upload?access_token=\(token)&type=video",
            ])
            #expect(result.stdout.contains(#""errcode":45001"#), "\(result.stdout) \(result.stderr)")
            #expect(result.stdout.lowercased().contains("connection: close"))
        }
    }
}
