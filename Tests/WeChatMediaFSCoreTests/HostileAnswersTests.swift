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
