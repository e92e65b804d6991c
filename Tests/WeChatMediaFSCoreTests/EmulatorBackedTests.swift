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

/// The filesystem's methods called directly against the in-process emulator over loopback and
/// a temporary catalog: no root, no mount, and expiry by moving the clock.
@Suite("Filesystem core against the emulator")
struct EmulatorBackedTests {
    static func with<T>(
        _ backend: CatalogBackend, limits: LimitsProfile = .seed,
        _ body: (CoreFixture, EmulatorFixture) async throws -> T
    ) async throws -> T {
        try await EmulatorFixture.with(limits: limits) { emulator in
            let clock = ManualClock(seconds: Int64(Date().timeIntervalSince1970))
            return try await CoreFixture.with(
                clock: clock, service: emulator.makeClient(rules: limits), backend: backend
            ) { core in try await body(core, emulator) }
        }
    }

    /// The server's bytes of `mediaID`, fetched with the project's client.
    static func serverBytes(_ emulator: EmulatorFixture, _ mediaID: String) async throws -> [UInt8] {
        let path = try TemporaryDirectory.make() + "/download"
        _ = try await emulator.makeClient().download(mediaID: mediaID, to: path)
        return Array(FileManager.default.contents(atPath: path) ?? Data())
    }

    static func mediaID(_ core: CoreFixture, _ path: String) async throws -> String {
        String(decoding: try await core.read(path + ".media_id").dropLast(), as: UTF8.self)
    }

    @Test(arguments: CatalogBackend.allCases) func uploadListReadThenExpireByTheClock(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { core, emulator in
            let cat = Samples.bytes("cat.jpg")
            try await core.copy(cat, to: "image/cat.jpg")
            #expect(try await core.list("image") == ["cat.jpg", "cat.jpg.media_id"])
            let id = try await Self.mediaID(core, "image/cat.jpg")
            #expect(OpaqueID.isWellFormed(id, maxLength: 128))
            #expect(try await core.read("image/cat.jpg") == cat)
            #expect(try await Self.serverBytes(emulator, id) == cat)
            #expect(try await core.list("by-id") == [id])
            #expect(try await core.read("by-id/" + id) == cat)

            // Shortly before the 3 days are up it is there; after them it is gone everywhere. They
            // count from the server's created_at, which a loaded machine may give seconds after
            // the test's clock started.
            let born = try #require(try await core.catalog.knownMedia(id)?.createdAt)
            core.clock.advance(seconds: born + 3 * 86400 - 10 - core.clock.seconds)
            #expect(try await core.attributes("image/cat.jpg")?.size == UInt64(cat.count))
            core.clock.advance(seconds: 20)
            #expect(try await core.inode("image/cat.jpg") == nil)
            #expect(try await core.inode("image/cat.jpg.media_id") == nil)
            #expect(try await core.list("image") == [])
            #expect(try await core.list("by-id") == [])
            #expect(try await core.inode("by-id/" + id) == nil, "an expired known id is not asked for again")
            await core.fileSystem.sweep()
            #expect(try await core.catalog.entry(in: .top(.image), named: "cat.jpg") == nil, "purged")
        }
    }

    /// Issue 11's measurement: a JPEG written, the descriptor dup'ed, one copy closed while the
    /// server holds the upload 1.5 s, 210 more bytes written on the other copy meanwhile, then the
    /// last close. Both copies share one FUSE handle, so the write lands during the first flush.
    @Test(arguments: CatalogBackend.allCases) func aWriteDuringAnUploadIsUploadedByTheLastClose(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { core, emulator in
            let cat = Samples.bytes("cat.jpg")
            let more = [UInt8](repeating: 0x5A, count: 210)
            let handle = try await core.openForWriting("image/dup.jpg")
            try await core.write(cat, to: handle)
            try await emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":1500}]}"#)
            let firstClose = Task {
                try await core.fileSystem.flush(inode: 0, handle: handle, caller: CoreFixture.caller)
            }
            let inFlight = await eventually {
                await core.fileSystem.status(mountpoint: "", apiBase: "", startedAt: Date()).transfers.count == 1
            }
            #expect(inFlight, "the first close's upload is in flight")
            let atOnce = more.withUnsafeBytes {
                core.fileSystem.writeAtOnce(inode: 0, handle: handle, offset: Int64(cat.count), data: $0)
            }
            #expect(atOnce == nil, "the handle's turn is the upload's: the write is not answered at once")
            let write = try await core.fileSystem.write(
                inode: 0, handle: handle, offset: Int64(cat.count), data: more)
            #expect(write == more.count)
            try await firstClose.value
            try await emulator.setFaults(#"{"rules":[]}"#)
            try await core.close(handle)

            let id = try await Self.mediaID(core, "image/dup.jpg")
            #expect(try await core.read("image/dup.jpg") == cat + more, "the name reads every acknowledged byte")
            #expect(try await Self.serverBytes(emulator, id) == cat + more, "and so does the server")
            #expect(try await emulator.counters()["upload"] == 2)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aFailedOverwriteKeepsThePreviousUpload(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { core, _ in
            let cat = Samples.bytes("cat.jpg")
            try await core.copy(cat, to: "image/keep.jpg")
            let id = try await Self.mediaID(core, "image/keep.jpg")
            // A PNG is refused as an image under the seed's limits (40005): EINVAL at close.
            let refused = await CoreFixture.errno {
                try await core.copy(Samples.bytes("cat.png"), to: "image/keep.jpg")
            }
            #expect(refused == EINVAL)
            #expect(try await Self.mediaID(core, "image/keep.jpg") == id)
            #expect(try await core.read("image/keep.jpg") == cat)
            let failures = await core.fileSystem.status(mountpoint: "", apiBase: "", startedAt: Date()).recentFailures
            #expect(failures.map(\.summary).contains { $0.hasPrefix("upload image/keep.jpg: EINVAL (errcode 40005") })
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aReadReplyOutlivesTheRelease(backend: CatalogBackend) async throws {
        try await Self.with(backend) { core, _ in
            let handle = try await core.openForWriting("image/r.jpg")
            let bytes = Samples.bytes("cat.jpg")
            try await core.write(bytes, to: handle)
            let reply = try await core.fileSystem.read(inode: 0, handle: handle, offset: 0, size: 4096)
            // The release closes the spool descriptor before FUSEKit sends the reply.
            try await core.fileSystem.flush(inode: 0, handle: handle, caller: CoreFixture.caller)
            try await core.fileSystem.release(inode: 0, handle: handle)
            #expect(CoreFixture.bytes(of: reply) == Array(bytes[0..<4096]))
        }
    }
}
