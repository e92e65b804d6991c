import EmulatorTestSupport
import Foundation
import Testing
import WeChatEmulator
import WeChatMedia

@Suite("Client: the permanent material library")
struct MaterialClientTests {
    static func sample(_ name: String) throws -> (path: String, directory: String) {
        let directory = try TemporaryDirectory.make()
        let path = directory + "/" + name
        try Data(Samples.bytes(name)).write(to: URL(fileURLWithPath: path))
        return (path, directory)
    }

    @Test func eachCallWorksAgainstTheEmulator() async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient()
            let work = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: work) }
            let cat = try Self.sample("cat.jpg")
            defer { try? FileManager.default.removeItem(atPath: cat.directory) }
            let image = try await client.addMaterial(fileAt: cat.path, as: .image, name: "猫咪 photo.jpg")
            #expect(image.mediaID.count == 64)
            #expect(image.url?.hasPrefix("http://") == true)
            // A name without the format's extension gets it: the server refuses it otherwise.
            let bare = try await client.addMaterial(fileAt: cat.path, as: .image, name: "photo")
            let page = try await client.listMaterial(.image, offset: 0, count: 20)
            #expect(page.totalCount == 2)
            #expect(page.items.map(\.name) == ["photo.jpg", "猫咪 photo.jpg"], "raw names, newest first")
            #expect(page.items.map(\.mediaID) == [bare.mediaID, image.mediaID])

            let fetched = try await client.getMaterial(mediaID: image.mediaID, to: work + "/image")
            #expect(try Data(contentsOf: URL(fileURLWithPath: work + "/image")) == Data(Samples.bytes("cat.jpg")))
            #expect(fetched.videoTitle == nil)

            let clip = try Self.sample("clip.mp4")
            defer { try? FileManager.default.removeItem(atPath: clip.directory) }
            let video = try await client.addMaterial(
                fileAt: clip.path, as: .video, name: "clip.mp4", title: "猫 \"quoted\"", introduction: "intro")
            let got = try await client.getMaterial(mediaID: video.mediaID, to: work + "/video")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: work + "/video")) == Data(Samples.bytes("clip.mp4")),
                "the file is the MP4 from down_url, never the JSON")
            #expect(got.videoTitle == "猫 \"quoted\"")
            #expect(got.videoDescription == "intro")

            let counts = try await client.materialCounts()
            #expect(counts == MaterialCounts(image: 2, voice: 0, video: 1, news: 0))

            try await client.deleteMaterial(mediaID: bare.mediaID)
            let gone = await #expect(throws: APIError.self) {
                try await client.getMaterial(mediaID: bare.mediaID, to: work + "/gone")
            }
            #expect(gone?.kind == .notFound)
            let again = await #expect(throws: APIError.self) { try await client.deleteMaterial(mediaID: bare.mediaID) }
            #expect(again?.code == .invalidMediaID, "a first try that finds nothing is an error")

            let url = try await client.uploadArticleImage(fileAt: cat.path, name: "body.jpg")
            #expect(url.hasPrefix("http://"))
            let counters = try await f.counters()
            #expect(counters["batchget_material"] == 1)
            #expect(counters["uploadimg"] == 1)
        }
    }

    @Test func aFullLibraryIsItsOwnKindOfError() async throws {
        try await EmulatorFixture.with(materialCaps: MaterialCaps(image: 100, voice: 0, video: 1)) { f in
            let client = f.makeClient()
            let voice = try Self.sample("hello.mp3")
            defer { try? FileManager.default.removeItem(atPath: voice.directory) }
            let full = await #expect(throws: APIError.self) {
                try await client.addMaterial(fileAt: voice.path, as: .voice, name: "hello.mp3")
            }
            #expect(full?.kind == .libraryFull)
            #expect(try await f.counters()["add_material"] == 1, "not retried")
        }
    }

    // MARK: Hostile answers, judged where they enter

    static func page(_ json: String, offset: Int = 0, count: Int = 20) throws -> MaterialPage {
        try MaterialReply.parse(Array(json.utf8)).page(offset: offset, count: count)
    }

    static let item = #"{"media_id":"abc_DEF-123","name":"a.jpg","update_time":1796116470,"url":"http://x.test/a"}"#

    @Test func aWellFormedPageIsTaken() throws {
        let page = try Self.page(#"{"total_count":3,"item_count":1,"item":[\#(Self.item)]}"#, offset: 2)
        #expect(
            page
                == MaterialPage(
                    totalCount: 3,
                    items: [
                        MaterialItem(
                            mediaID: "abc_DEF-123", name: "a.jpg", updateTime: 1_796_116_470, url: "http://x.test/a")
                    ]))
        #expect(try Self.page(#"{"total_count":0,"item_count":0,"item":[]}"#).items.isEmpty)
    }

    @Test(arguments: [
        (#"{"total_count":1,"item_count":2,"item":[ITEM]}"#, "item_count"),
        (#"{"total_count":1,"item":[ITEM]}"#, "item_count"),
        (#"{"total_count":9223372036854775807,"item_count":1,"item":[ITEM]}"#, "total_count"),
        (#"{"total_count":-1,"item_count":0,"item":[]}"#, "total_count"),
        (#"{"total_count":"many","item_count":0,"item":[]}"#, "total_count"),
        (#"{"item_count":0,"item":[]}"#, "total_count"),
        (#"{"total_count":1,"item_count":1,"item":"nope"}"#, "item is not a list"),
        (#"{"total_count":1,"item_count":2,"item":[ITEM,ITEM]}"#, "past total_count"),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"../etc","name":"a","update_time":1796116470}]}"#,
            "media_id"
        ),
        (#"{"total_count":1,"item_count":1,"item":[{"media_id":"a","name":7,"update_time":1796116470}]}"#, "name"),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"a","name":"a","update_time":99999999999}]}"#,
            "update_time"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"a","name":"a","update_time":1796116470,"url":"file:///etc/passwd"}]}"#,
            "url"
        ),
    ])
    func anAnswerThatCannotBeTrueIsRefusedByName(json: String, field: String) throws {
        let body = json.replacingOccurrences(of: "ITEM", with: Self.item)
        let error = #expect(throws: TransportError.self) { try Self.page(body) }
        #expect(String(describing: error).contains(field), "\(String(describing: error))")
    }

    @Test func moreItemsThanAskedAreRefused() throws {
        let body = #"{"total_count":5,"item_count":2,"item":[\#(Self.item),\#(Self.item)]}"#
        let error = #expect(throws: TransportError.self) { try Self.page(body, count: 1) }
        #expect(String(describing: error).contains("at most 1"))
    }

    @Test func aVideoAnswerMustPointToHTTP() throws {
        let reply = try MaterialReply.parse(Array(#"{"title":"t","description":"d","down_url":"ftp://x/y"}"#.utf8))
        #expect(throws: TransportError.self) { try reply.httpURL(\.downURL, named: "down_url", required: true) }
        let fine = try MaterialReply.parse(Array(#"{"title":"t","down_url":"https://cdn.test/v.mp4"}"#.utf8))
        #expect(try fine.httpURL(\.downURL, named: "down_url", required: true) == "https://cdn.test/v.mp4")
        #expect(try fine.videoText() == ("t", ""))
        let counts = try MaterialReply.parse(Array(#"{"image_count":9223372036854775807}"#.utf8))
        #expect(throws: TransportError.self) { try counts.counts() }
    }
}
