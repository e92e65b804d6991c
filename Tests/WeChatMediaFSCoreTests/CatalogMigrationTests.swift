import EmulatorTestSupport
import FUSEKit
import Foundation
import MediaCatalog
import Testing
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// `Fixtures/catalog-v3.sqlite` was written by a real mount of the version before parents became
/// catalog ids (commit 0a2eab2): cp of cat.jpg, thumb.jpg into image/album/, hello.mp3, an empty
/// voice/empty.amr, thumb/deep/er/t.jpg, then chmod 640, touch -d '2026-01-02 03:04:05' and
/// setfattr user.color=blue on image/cat.jpg. It must mount after the migration with all of it.
@Suite("Catalog migration from the inode-parent schema")
struct CatalogMigrationTests {
    static let writtenAt: Int64 = 1_796_116_470
    static var fixture: String {
        Bundle.module.url(forResource: "catalog-v3", withExtension: "sqlite", subdirectory: "Fixtures")?.path ?? ""
    }

    @Test func everyEntryIdTimeModeAndXattrSurvives() async throws {
        let clock = ManualClock(seconds: Self.writtenAt + 60)
        let core = try await CoreFixture.make(
            clock: clock, service: InMemoryMediaService(clock: clock), catalogPath: Self.fixture)
        defer { core.remove() }

        #expect(try await core.list("image") == ["cat.jpg", "cat.jpg.media_id", "album"])
        #expect(try await core.list("image/album") == ["small.jpg", "small.jpg.media_id"])
        #expect(try await core.list("voice") == ["hello.mp3", "hello.mp3.media_id", "empty.amr"])
        #expect(try await core.list("thumb/deep/er") == ["t.jpg", "t.jpg.media_id"])
        #expect(try await core.list("video") == [])

        let cat = try #require(try await core.attributes("image/cat.jpg"))
        #expect(cat.size == 9059)
        #expect(cat.permissions == 0o640)
        #expect(cat.modificationTime.tv_sec == 1_767_323_045)
        #expect(cat.inode == 1001, "entry ids, and so inode numbers, are kept")
        #expect(try await core.fileSystem.getxattr(inode: cat.inode, name: "user.color") == Array("blue".utf8))
        #expect(
            try await core.read("image/cat.jpg.media_id")
                == Array("Vkly3fymnPUuf0qz3_w2LZseGib7RBaXt5uY7Dq6xnAYu3zrkJiI_N3B3sQzU39X\n".utf8))
        #expect(
            try await core.fileSystem.getxattr(inode: cat.inode, name: "user.wechat.media_id")
                == Array("Vkly3fymnPUuf0qz3_w2LZseGib7RBaXt5uY7Dq6xnAYu3zrkJiI_N3B3sQzU39X".utf8))
        #expect(try await core.attributes("voice/empty.amr")?.size == 0)
        #expect(try await core.attributes("image/album/small.jpg")?.size == 1492)
        #expect(try await core.list("by-id").count == 4)

        // New entries go on after the old ids, under the right folders.
        try await core.mkdir("image/album/2027")
        try await core.rename("image/album/small.jpg", to: "image/album/2027/small.jpg")
        #expect(try await core.list("image/album/2027") == ["small.jpg", "small.jpg.media_id"])
        #expect(await CoreFixture.errno { try await core.rmdir("image/album") } == ENOTEMPTY)
        #expect(try await core.attributes("image/album/2027")?.inode == 1009, "ids continue after the old ones")
    }
}
