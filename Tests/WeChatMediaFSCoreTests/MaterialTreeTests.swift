import EmulatorTestSupport
import FUSEKit
import Foundation
import MediaCatalog
import Testing
import WeChatEmulator
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// `/material/` through the filesystem's methods, against the in-process emulator over
/// loopback: copies in and back, the server's listing, deleting, the same bytes once, caps and
/// article images (issue 23).
@Suite("Material tree")
struct MaterialTreeTests {
    static func with<T>(
        _ backend: CatalogBackend = .sqlite, allowDelete: Bool = false, caps: MaterialCaps = .documented,
        uploads: UploadMode = .sync, _ body: (CoreFixture, EmulatorFixture) async throws -> T
    ) async throws -> T {
        try await EmulatorFixture.with(limits: .current, materialCaps: caps) { emulator in
            var settings = CoreFixture.defaultSettings
            settings.allowDelete = allowDelete
            settings.materialListSeconds = 60
            settings.uploadMode = uploads
            let clock = ManualClock(seconds: Int64(Date().timeIntervalSince1970))
            let core = try await CoreFixture.make(
                clock: clock, service: emulator.makeClient(rules: .current), settings: settings, backend: backend)
            return try await using(core, stop: { await $0.close() }) { core in try await body(core, emulator) }
        }
    }

    static func text(_ bytes: [UInt8]) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    static func xattr(_ core: CoreFixture, _ path: String, _ name: String) async throws -> String? {
        guard let inode = try await core.inode(path) else { return nil }
        guard let value = try? await core.fileSystem.getxattr(inode: inode, name: name) else { return nil }
        return text(value)
    }

    /// The bytes the server holds for `mediaID`, fetched with a client of the test's own.
    static func serverBytes(_ emulator: EmulatorFixture, _ mediaID: String) async throws -> [UInt8] {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await emulator.makeClient().getMaterial(mediaID: mediaID, to: directory + "/bytes")
        return Array(FileManager.default.contents(atPath: directory + "/bytes") ?? Data())
    }

    static func serverItems(_ emulator: EmulatorFixture, _ type: MediaType) async throws -> [MaterialItem] {
        let client = emulator.makeClient()
        var items: [MaterialItem] = []
        while true {
            let page = try await client.listMaterial(type, offset: items.count, count: 20)
            items += page.items
            if page.items.isEmpty || items.count >= page.totalCount { return items }
        }
    }

    static func materialListRequests(_ core: CoreFixture) -> Int {
        core.service.requestCounts().first { $0.kind == .materialList }?.count.sent ?? 0
    }

    @Test(arguments: CatalogBackend.allCases) func eachTypeRoundTripsThroughCopyAndBackOnAFreshMount(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, emulator in
            let files: [(path: String, sample: String)] = [
                ("material/image/cat.jpg", "cat.jpg"), ("material/voice/hello.mp3", "hello.mp3"),
                ("material/video/clip.mp4", "clip.mp4"), ("material/thumb/cover.jpg", "thumb.jpg"),
                ("material/article-images/cat.png", "cat.png"),
            ]
            for file in files { try await core.copy(Samples.bytes(file.sample), to: file.path) }
            #expect(try await core.list("material") == ["image", "voice", "video", "thumb", "article-images"])
            for file in files.dropLast() {
                let mediaID = Self.text(try await core.read(file.path + ".media_id"))
                #expect(try await Self.xattr(core, file.path, "user.wechat.media_id") == mediaID)
                #expect(try await Self.xattr(core, file.path, "user.wechat.update_time") != nil)
                #expect(try await Self.serverBytes(emulator, mediaID) == Samples.bytes(file.sample), "\(file.path)")
                #expect(try await core.attributes(file.path)?.size == UInt64(Samples.bytes(file.sample).count))
            }
            let imageURL = try await Self.xattr(core, "material/image/cat.jpg", "user.wechat.url")
            #expect(imageURL?.hasPrefix("http") == true)
            let articleURL = Self.text(try await core.read("material/article-images/cat.png.url"))
            #expect(articleURL.hasPrefix("http://127.0.0.1:"))
            #expect(try await Self.xattr(core, "material/article-images/cat.png", "user.wechat.url") == articleURL)
            #expect(try await core.inode("material/article-images/cat.png.media_id") == nil)

            // A fresh mount: the same catalog, an empty cache dir; every type reads from the server.
            try FileManager.default.removeItem(atPath: core.directory + "/cache")
            let fresh = try await core.reopened()
            for file in files {
                #expect(try await fresh.read(file.path) == Samples.bytes(file.sample), "\(file.path)")
            }
        }
    }

    @Test func theServersMaterialIsListedInPagesWithStableNamesAcrossRemounts() async throws {
        try await Self.with { core, emulator in
            let client = emulator.makeClient()
            let directory = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            var made: [String] = []
            for index in 0..<45 {
                let path = directory + "/\(index).jpg"
                try Data(Samples.jpeg(size: 1000 + index)).write(to: URL(fileURLWithPath: path))
                // Every fifth shares a name: they must still get names of their own.
                let name = index % 5 == 0 ? "shared.jpg" : "console \(index).jpg"
                made.append(try await client.addMaterial(fileAt: path, as: .image, name: name).mediaID)
            }
            let chinese = try await client.addMaterial(
                fileAt: Samples.path("cat.jpg"), as: .image, name: "猫咪 照片.jpg")
            let before = Self.materialListRequests(core)
            let names = try await core.list("material/image").filter { !$0.hasSuffix(".media_id") }
            // 46 items: three pages of 20.
            #expect(Self.materialListRequests(core) - before == 3)
            #expect(names.count == 46)
            #expect(Set(names).count == 46)
            #expect(names.contains("shared.jpg"))
            #expect(names.filter { $0.hasPrefix("shared~") }.count == 8)
            #expect(names.contains("猫咪 照片.jpg"))
            #expect(Self.text(try await core.read("material/image/猫咪 照片.jpg.media_id")) == chinese.mediaID)
            // The listing tells no size: 0 until the file was read whole, then its size.
            #expect(try await core.attributes("material/image/猫咪 照片.jpg")?.size == 0)
            #expect(try await core.read("material/image/猫咪 照片.jpg") == Samples.bytes("cat.jpg"))
            #expect(try await core.attributes("material/image/猫咪 照片.jpg")?.size == 9059)
            // Within the TTL a second listing asks nothing.
            _ = try await core.list("material/image")
            #expect(Self.materialListRequests(core) - before == 3)

            let again = try await core.reopened()
            let remounted = try await again.list("material/image").filter { !$0.hasSuffix(".media_id") }
            #expect(remounted == names)

            // Deleted elsewhere: gone once the listing is older than the TTL.
            try await client.deleteMaterial(mediaID: made[1])
            #expect(try await again.list("material/image").contains("console 1.jpg"))
            again.clock.advance(seconds: 61)
            #expect(try await !again.list("material/image").contains("console 1.jpg"))
            #expect(try await again.inode("material/image/console 1.jpg") == nil)
        }
    }

    @Test func aNameChosenHereIsTheServersNameUnchanged() async throws {
        try await Self.with { core, emulator in
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/小猫 照片.jpg")
            let mediaID = Self.text(try await core.read("material/image/小猫 照片.jpg.media_id"))
            let item = try await Self.serverItems(emulator, .image).first { $0.mediaID == mediaID }
            #expect(item?.name == "小猫 照片.jpg")
        }
    }

    @Test func removingNeedsAllowDeleteAndThenDeletesOnTheServer() async throws {
        try await Self.with { core, emulator in
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/keep.jpg")
            let mediaID = Self.text(try await core.read("material/image/keep.jpg.media_id"))
            #expect(await CoreFixture.errno { try await core.unlink("material/image/keep.jpg") } == EPERM)
            #expect(try await Self.serverBytes(emulator, mediaID) == Samples.bytes("cat.jpg"))
            #expect(try await core.inode("material/image/keep.jpg") != nil)
            #expect(await CoreFixture.errno { try await core.rmdir("material/image") } == EPERM)
            #expect(await CoreFixture.errno { try await core.unlink("material/image") } == EPERM)
        }
        try await Self.with(allowDelete: true) { core, emulator in
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/go.jpg")
            let mediaID = Self.text(try await core.read("material/image/go.jpg.media_id"))
            try await core.unlink("material/image/go.jpg")
            #expect(try await core.inode("material/image/go.jpg") == nil)
            let error = await #expect(throws: APIError.self) { try await Self.serverBytes(emulator, mediaID) }
            #expect(error?.code == .invalidMediaID)
        }
    }

    @Test func theSameBytesAreAddedOnceAndDeletedWithTheirLastName() async throws {
        try await Self.with(allowDelete: true) { core, emulator in
            let client = emulator.makeClient()
            let before = try await client.materialCounts().image
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/a.jpg")
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/b.jpg")
            let first = Self.text(try await core.read("material/image/a.jpg.media_id"))
            let second = Self.text(try await core.read("material/image/b.jpg.media_id"))
            #expect(first == second)
            #expect(try await client.materialCounts().image == before + 1)
            try await core.unlink("material/image/a.jpg")
            #expect(try await Self.serverBytes(emulator, first) == Samples.bytes("cat.jpg"))
            try await core.unlink("material/image/b.jpg")
            await #expect(throws: APIError.self) { try await Self.serverBytes(emulator, first) }
            #expect(try await client.materialCounts().image == before)
        }
    }

    @Test func aTypeAtItsCapRefusesWithEDQUOTAndSendsNothing() async throws {
        try await Self.with(caps: MaterialCaps(image: 1, voice: 1000, video: 1000)) { core, emulator in
            try await core.copy(Samples.jpeg(size: 3000), to: "material/image/one.jpg")
            // The count was not known: the server's 45034 says so, and the name goes.
            #expect(
                await CoreFixture.errno { try await core.copy(Samples.jpeg(size: 4000), to: "material/image/two.jpg") }
                    == EDQUOT)
            #expect(try await core.inode("material/image/two.jpg") == nil)
            let sent = core.service.requestCounts().first { $0.kind == .material }?.count.sent ?? 0
            // Now it is known: refused at create, before any request.
            #expect(
                await CoreFixture.errno {
                    try await core.copy(Samples.jpeg(size: 5000), to: "material/image/three.jpg")
                } == EDQUOT)
            #expect((core.service.requestCounts().first { $0.kind == .material }?.count.sent ?? 0) == sent)
            #expect(try await Self.serverItems(emulator, .image).count == 1)
            // Another type is not full.
            try await core.copy(Samples.bytes("hello.mp3"), to: "material/voice/hello.mp3")
        }
    }

    @Test func foldersTellTheirCountAndCap() async throws {
        try await Self.with { core, _ in
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/cat.jpg")
            #expect(try await Self.xattr(core, "material/image", "user.wechat.limit") == "100000")
            #expect(try await Self.xattr(core, "material/voice", "user.wechat.limit") == "1000")
            _ = try await core.list("material/image")
            #expect(try await Self.xattr(core, "material/image", "user.wechat.count") == "1")
        }
    }

    @Test func articleImagesAreSmallJPEGsAndPNGsAndRemovingForgetsTheName() async throws {
        try await Self.with { core, _ in
            #expect(
                await CoreFixture.errno {
                    try await core.copy(Samples.jpeg(size: 2 << 20), to: "material/article-images/big.jpg")
                } == EFBIG)
            #expect(try await core.inode("material/article-images/big.jpg") == nil)
            let gif = Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 100)
            #expect(await CoreFixture.errno { try await core.copy(gif, to: "material/article-images/a.gif") } == EINVAL)
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/article-images/cat.jpg")
            #expect(try await core.list("material/article-images") == ["cat.jpg", "cat.jpg.url"])
            try await core.unlink("material/article-images/cat.jpg")
            #expect(try await core.list("material/article-images") == [])
        }
    }

    @Test func renamesAreLocalAndAnotherFolderIsAnotherDevice() async throws {
        try await Self.with { core, emulator in
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/a.jpg")
            let mediaID = Self.text(try await core.read("material/image/a.jpg.media_id"))
            try await core.rename("material/image/a.jpg", to: "material/image/b.jpg")
            #expect(try await core.inode("material/image/a.jpg") == nil)
            #expect(Self.text(try await core.read("material/image/b.jpg.media_id")) == mediaID)
            // The server keeps the name it was given.
            #expect(try await Self.serverItems(emulator, .image).first?.name == "a.jpg")
            #expect(
                await CoreFixture.errno { try await core.rename("material/image/b.jpg", to: "material/thumb/b.jpg") }
                    == EXDEV)
            #expect(
                await CoreFixture.errno { try await core.rename("material/image/b.jpg", to: "image/b.jpg") } == EXDEV)
            // The listing after the TTL keeps the local name: the row holds the id.
            core.clock.advance(seconds: 61)
            #expect(try await core.list("material/image") == ["b.jpg", "b.jpg.media_id"])
        }
    }

    /// Two hosts on one PostgreSQL catalog: a name one adds the other lists and reads; the same
    /// bytes copied on the other get the same id without an add; a material goes from the
    /// library only with the last name, whichever host removes it.
    @Test func aFleetSharesNamesAndTheSameBytesAcrossHosts() async throws {
        try await Self.with(.postgres, allowDelete: true) { core, emulator in
            let other = try await core.otherHost()
            let client = emulator.makeClient()
            try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/a.jpg")
            let mediaID = Self.text(try await core.read("material/image/a.jpg.media_id"))
            #expect(try await other.list("material/image") == ["a.jpg", "a.jpg.media_id"])
            #expect(Self.text(try await other.read("material/image/a.jpg.media_id")) == mediaID)
            #expect(try await other.read("material/image/a.jpg") == Samples.bytes("cat.jpg"))
            let count = try await client.materialCounts().image
            try await other.copy(Samples.bytes("cat.jpg"), to: "material/image/b.jpg")
            #expect(Self.text(try await other.read("material/image/b.jpg.media_id")) == mediaID)
            #expect(try await client.materialCounts().image == count)
            try await other.unlink("material/image/a.jpg")
            #expect(try await Self.serverBytes(emulator, mediaID) == Samples.bytes("cat.jpg"))
            #expect(try await core.list("material/image") == ["b.jpg", "b.jpg.media_id"])
            try await core.unlink("material/image/b.jpg")
            #expect(try await other.list("material/image") == [])
            await #expect(throws: APIError.self) { try await Self.serverBytes(emulator, mediaID) }
            await other.leave()
        }
    }

    @Test func temporaryMediaBecomePermanentByACopy() async throws {
        try await Self.with { core, emulator in
            try await core.copy(Samples.bytes("cat.jpg"), to: "image/a.jpg")
            let temporary = Self.text(try await core.read("image/a.jpg.media_id"))
            try await core.copy(try await core.read("by-id/" + temporary), to: "material/image/a.jpg")
            let permanent = Self.text(try await core.read("material/image/a.jpg.media_id"))
            #expect(permanent != temporary)
            #expect(try await Self.serverBytes(emulator, permanent) == Samples.bytes("cat.jpg"))
        }
    }
}
