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

/// Whatever the media service answers, nothing implausible reaches the catalog: the upload
/// fails with EIO, and the filesystem (and a remount) go on answering.
@Suite("Hostile upload answers")
struct HostileAnswersTests {
    static let now: Int64 = 1_796_116_470

    @Test(arguments: [
        ("idMax", Int64.max), ("idMin", Int64.min), ("idMinus", -1), ("idZero", 0),
        ("../../etc/passwd", now), (String(repeating: "x", count: 100_000), now), ("", now),
    ])
    func anImplausibleAnswerFailsTheUploadAndIsNeverStored(mediaID: String, createdAt: Int64) async throws {
        let clock = ManualClock(seconds: Self.now)
        let service = InMemoryMediaService(clock: clock)
        let core = try await CoreFixture.make(clock: clock, service: service)
        defer { core.remove() }
        service.forgeNextAnswer(mediaID: mediaID, createdAt: createdAt)
        let failed = await CoreFixture.errno { try await core.copy(Samples.bytes("cat.jpg"), to: "image/x.jpg") }
        #expect(failed == EIO)
        #expect(try await core.inode("image/x.jpg") == nil, "a failed new file leaves no name")
        #expect(try await core.list("image") == [])
        #expect(try await core.list("by-id") == [])
        try await core.copy(Samples.bytes("cat.jpg"), to: "image/y.jpg")
        let remount = try await core.reopened()
        #expect(try await remount.list("image") == ["y.jpg", "y.jpg.media_id"])
        let failures = await core.fileSystem.status(mountpoint: "", apiBase: "", startedAt: Date()).recentFailures
        #expect(failures.first?.summary.hasPrefix("upload image/x.jpg: EIO") == true, "\(failures)")
    }
}

/// A material library whose every answer is one no server should give: ids that are no ids,
/// names of any length and character, a total that never ends, duplicates; adds answered with
/// an id that is a path and a URL that is a script.
struct HostileMaterialService: MaterialService {
    static let good = "goodMaterialId_0123456789"

    func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage {
        let items = [
            MaterialItem(mediaID: "../../etc/passwd", name: "escape.jpg", updateTime: 1_700_000_000, url: nil),
            MaterialItem(mediaID: "", name: "empty id.jpg", updateTime: 1_700_000_000, url: nil),
            MaterialItem(mediaID: String(repeating: "x", count: 100_000), name: "long id", updateTime: 0, url: nil),
            MaterialItem(
                mediaID: Self.good, name: String(repeating: "名", count: 50_000) + ".jpg", updateTime: Int64.max,
                url: "javascript:alert(1)"),
            MaterialItem(mediaID: Self.good, name: "duplicate.jpg", updateTime: Int64.min, url: nil),
            MaterialItem(mediaID: "second_id_0123456789", name: "a/b\u{0}c.media_id", updateTime: -1, url: nil),
        ]
        // A total past what any page gives: the crawl must end anyway.
        return MaterialPage(totalCount: Int.max, items: offset == 0 ? items : [])
    }

    func addMaterial(
        fileAt path: String, as type: MediaType, name: String, title: String?, introduction: String?,
        progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> AddedMaterial {
        AddedMaterial(mediaID: "../../etc/passwd", url: "file:///etc/passwd")
    }

    func getMaterial(mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void)
        async throws -> FetchedMaterial
    {
        throw TransportError.invalidResponse("a hostile body")
    }

    func deleteMaterial(mediaID: String) async throws {}

    func materialCounts() async throws -> MaterialCounts {
        MaterialCounts(image: -5, voice: Int.max, video: 0, news: 0)
    }

    func uploadArticleImage(fileAt path: String, name: String) async throws -> String { "ftp://evil/x.jpg" }
}

@Suite("Hostile material answers")
struct HostileMaterialAnswersTests {
    @Test func theMountListsOnlyWhatCanBeAFileAndStoresNoImplausibleAnswer() async throws {
        let clock = ManualClock(seconds: HostileAnswersTests.now)
        let core = try await CoreFixture.make(
            clock: clock, service: InMemoryMediaService(clock: clock), material: HostileMaterialService())
        defer { core.remove() }
        let names = try await core.list("material/image")
        // The two well-formed ids, each once; names made valid file names.
        #expect(names.filter { !$0.hasSuffix(".media_id") }.count == 2, "\(names)")
        #expect(names.allSatisfy { $0.utf8.count <= 255 && !$0.contains("/") && !$0.contains("\u{0}") })
        #expect(names.contains("a_b_c.media_id_"), "\(names)")
        #expect(try await core.read("material/image/a_b_c.media_id_.media_id") == Array("second_id_0123456789\n".utf8))
        // The count answered is no count: the cap check does not trust it.
        #expect(
            await CoreFixture.errno { try await core.copy(Samples.bytes("cat.jpg"), to: "material/image/x.jpg") } == EIO
        )
        #expect(try await core.inode("material/image/x.jpg") == nil)
        #expect(
            await CoreFixture.errno {
                try await core.copy(Samples.bytes("cat.jpg"), to: "material/article-images/y.jpg")
            } == EIO)
        #expect(await CoreFixture.errno { _ = try await core.read("material/image/a_b_c.media_id_") } == EIO)
        let remount = try await core.reopened()
        #expect(try await remount.list("material/image").count == names.count)
    }
}
