import EmulatorTestSupport
import FUSEKit
import FleetCatalog
import Foundation
import MediaCatalog
import Testing
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// `/material/` with `--uploads background` (issue 23), through the filesystem's methods:
/// `close()` returns once the local checks pass and the bytes are queued on disk; the sidecar,
/// `fsync` and `sync` wait for the add and tell its errno; a failure stays with its file; the
/// same bytes are still added once; a crash loses nothing; other hosts see a file once added.
/// The in-memory library holds adds when told, so every in-between state is looked at.
@Suite("Material in background mode")
struct MaterialBackgroundTests {
    static func with<T>(
        _ backend: CatalogBackend = .sqlite, queuedUploadWait: Duration = .seconds(10),
        _ body: (CoreFixture, InMemoryMaterialService) async throws -> T
    ) async throws -> T {
        var settings = CoreFixture.defaultSettings
        settings.uploadMode = .background
        settings.uploadConcurrency = 4
        settings.queuedUploadWait = queuedUploadWait
        let clock = ManualClock(seconds: 1_796_116_470)
        let library = InMemoryMaterialService(clock: clock)
        let core = try await CoreFixture.make(
            clock: clock, service: InMemoryMediaService(clock: clock), material: library, settings: settings,
            backend: backend)
        let result = await Result { try await body(core, library) }
        library.releaseAdds()
        await core.close()
        return try result.get()
    }

    static func distinctJPEG(_ seed: Int) -> [UInt8] {
        Samples.jpeg(size: 20_000) + Array("seed \(seed)".utf8)
    }

    /// A 1x1 GIF: an image the library takes, an article image not.
    static let gif: [UInt8] = [
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00, 0x00,
        0x00, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
        0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
    ]

    static func mediaID(_ core: CoreFixture, _ path: String) async throws -> String {
        MaterialTreeTests.text(try await core.read(path + ".media_id"))
    }

    @Test(arguments: CatalogBackend.allCases) func closeReturnsOnceQueuedAndTheSidecarWaitsForTheAdd(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, library in
            library.holdAdds()
            // Should close wait for the add, the add is let go after 60 s: the test then fails
            // instead of hanging.
            let failSafe = Task {
                try await Task.sleep(for: .seconds(60))
                library.releaseAdds()
            }
            defer { failSafe.cancel() }
            let bytes = Self.distinctJPEG(1)
            try await core.copy(bytes, to: "material/image/a.jpg")
            #expect(await eventually { library.heldAdds == 1 }, "the add started after close returned")
            // Queued: listed with its size, read from its local bytes, no sidecar, no id yet.
            #expect(try await core.list("material/image") == ["a.jpg"])
            #expect(try await core.attributes("material/image/a.jpg")?.size == UInt64(bytes.count))
            #expect(try await core.read("material/image/a.jpg") == bytes)
            #expect(try await MaterialTreeTests.xattr(core, "material/image/a.jpg", "user.wechat.state") == "uploading")
            #expect(try await MaterialTreeTests.xattr(core, "material/image/a.jpg", "user.wechat.media_id") == nil)
            #expect(
                await core.fileSystem.status(mountpoint: "/m", apiBase: "", startedAt: Date()).uploadQueue?.uploading
                    == 1)
            // A sidecar read waits for the add, then tells its id.
            let sidecar = Task { try await Self.mediaID(core, "material/image/a.jpg") }
            library.releaseAdds()
            let id = try await sidecar.value
            #expect(library.stored(id)?.bytes == bytes)
            #expect(library.stored(id)?.name == "a.jpg")
            #expect(try await core.list("material/image") == ["a.jpg", "a.jpg.media_id"])
            #expect(try await MaterialTreeTests.xattr(core, "material/image/a.jpg", "user.wechat.media_id") == id)
            let status = await core.fileSystem.syncQueuedUploads()
            #expect(status.queued + status.uploading == 0 && status.failed.isEmpty)
            #expect(library.addCount == 1)
        }
    }

    @Test func refusalsFailAtCloseAndAFailedAddStaysWithItsFileUntilRemoved() async throws {
        try await Self.with { core, library in
            // The local rules and a full type refuse at close, as in sync mode: nothing queued.
            let notAnImage = Array("not an image".utf8)
            #expect(await CoreFixture.errno { try await core.copy(notAnImage, to: "material/image/bad.jpg") } == EINVAL)
            #expect(
                await CoreFixture.errno { try await core.copy(Self.gif, to: "material/article-images/a.gif") }
                    == EINVAL,
                "an article image is a JPEG or a PNG")
            #expect(try await core.list("material/image") == [])
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty, "a refusal at close is not queued")
            // The server refuses the add: the file stays, with why. 45009 may pass: `sync` tries
            // it again once it failed, and the server refuses that try too.
            let quota = APIError(errcode: 45009, errmsg: "reach max api daily quota limit")
            library.failNextAdd(with: quota)
            library.failNextAdd(with: quota)
            let bytes = Self.distinctJPEG(2)
            try await core.copy(bytes, to: "material/image/later.jpg")
            #expect(
                await eventually {
                    let state = try? await MaterialTreeTests.xattr(
                        core, "material/image/later.jpg", "user.wechat.state")
                    return state == "failed"
                })
            let status = await core.fileSystem.syncQueuedUploads()
            #expect(status.failed.map(\.name) == ["material/image/later.jpg"])
            #expect(status.failed.first?.errno == "EAGAIN" && status.failed.first?.errcode == 45009)
            #expect(try await core.list("material/image") == ["later.jpg"], "listed, without a sidecar")
            #expect(
                try await MaterialTreeTests.xattr(core, "material/image/later.jpg", "user.wechat.state") == "failed")
            let reason = try await MaterialTreeTests.xattr(core, "material/image/later.jpg", "user.wechat.error") ?? ""
            #expect(reason.contains("EAGAIN") && reason.contains("45009"), "\(reason)")
            #expect(try await core.read("material/image/later.jpg") == bytes, "its bytes are still here")
            #expect(await CoreFixture.errno { _ = try await core.read("material/image/later.jpg.media_id") } == EAGAIN)
            // Removed after failing: forgotten, and nothing was ever in the library to delete.
            try await core.unlink("material/image/later.jpg")
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty)
            #expect(try await core.list("material/image") == [])
            #expect(library.addCount == 2, "the add, and sync's try again; nothing once removed")
        }
    }

    @Test func theSameBytesShareAnIdWithoutQueueing() async throws {
        try await Self.with { core, library in
            let bytes = Self.distinctJPEG(3)
            try await core.copy(bytes, to: "material/image/a.jpg")
            let first = try await Self.mediaID(core, "material/image/a.jpg")
            // Held: a second add would hang the sidecar read below past its bound.
            library.holdAdds()
            try await core.copy(bytes, to: "material/image/b.jpg")
            #expect(try await Self.mediaID(core, "material/image/b.jpg") == first)
            #expect(library.addCount == 1 && library.heldAdds == 0)
        }
    }

    @Test func aFileWrittenAgainWhileQueuedAddsItsNewestBytesOnly() async throws {
        try await Self.with { core, library in
            library.holdAdds()
            try await core.copy(Self.distinctJPEG(4), to: "material/image/a.jpg")
            #expect(await eventually { library.heldAdds == 1 })
            let newest = Self.distinctJPEG(5)
            try await core.copy(newest, to: "material/image/a.jpg")
            #expect(try await core.read("material/image/a.jpg") == newest)
            library.releaseAdds()
            _ = await core.fileSystem.syncQueuedUploads()
            let id = try await Self.mediaID(core, "material/image/a.jpg")
            #expect(library.stored(id)?.bytes == newest, "the name holds the newest bytes' material")
        }
    }

    /// An added file written again keeps its old material in the library, and its sidecar tells
    /// an id only once the new bytes are added: never the old id for the new bytes.
    @Test func anAddedFileWrittenAgainShowsNoIdUntilItsNewBytesAreAdded() async throws {
        try await Self.with { core, library in
            try await core.copy(Self.distinctJPEG(10), to: "material/image/a.jpg")
            let old = try await Self.mediaID(core, "material/image/a.jpg")
            library.holdAdds()
            let newer = Self.distinctJPEG(11)
            try await core.copy(newer, to: "material/image/a.jpg")
            #expect(await eventually { library.heldAdds == 1 })
            #expect(try await core.list("material/image") == ["a.jpg"], "no sidecar while the new bytes wait")
            #expect(try await MaterialTreeTests.xattr(core, "material/image/a.jpg", "user.wechat.media_id") == nil)
            #expect(try await core.read("material/image/a.jpg") == newer)
            library.releaseAdds()
            let new = try await Self.mediaID(core, "material/image/a.jpg")
            #expect(new != old && library.stored(new)?.bytes == newer)
            #expect(library.stored(old) != nil, "the API cannot replace a material: the old one stays")
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aCrashLosesNoQueuedMaterial(backend: CatalogBackend) async throws {
        try await Self.with(backend) { core, library in
            library.holdAdds()
            var files: [String: [UInt8]] = [:]
            for index in 0..<3 {
                let path = "material/image/q\(index).jpg"
                files[path] = Self.distinctJPEG(100 + index)
                try await core.copy(files[path] ?? [], to: path)
            }
            try await core.copy(Samples.bytes("hello.mp3"), to: "material/voice/hello.mp3")
            files["material/voice/hello.mp3"] = Samples.bytes("hello.mp3")
            // Every add is with the server when the mount dies, none between catalog calls.
            #expect(await eventually { library.heldAdds == 4 })
            // The mount dies with every add held (its requests never end); the next mount on
            // the same cache dir, with a working server, resumes them.
            let fresh = InMemoryMaterialService(clock: core.clock)
            let next = try await core.reopened(material: fresh)
            let status = await next.fileSystem.syncQueuedUploads()
            #expect(status.failed.isEmpty)
            #expect(fresh.addCount == 4)
            for (path, bytes) in files {
                #expect(fresh.stored(try await Self.mediaID(next, path))?.bytes == bytes, "\(path)")
            }
            #expect(try await next.list("material/image").count == 6)
        }
    }

    @Test func queuedMaterialIsInvisibleToOtherHostsUntilAdded() async throws {
        try await Self.with(.postgres) { core, library in
            let other = try await core.otherHost()
            defer { try? FileManager.default.removeItem(atPath: other.directory) }
            library.holdAdds()
            try await core.copy(Self.distinctJPEG(6), to: "material/image/shared.jpg")
            #expect(try await core.list("material/image") == ["shared.jpg"])
            #expect(try await other.list("material/image") == [], "queued here: not there yet")
            #expect(
                await CoreFixture.errno { try await other.copy(Self.distinctJPEG(7), to: "material/image/shared.jpg") }
                    == EBUSY, "the name is held while queued")
            library.releaseAdds()
            _ = await core.fileSystem.syncQueuedUploads()
            #expect(try await other.list("material/image") == ["shared.jpg", "shared.jpg.media_id"])
            // This host stops with a file still queued: its name stays held for the fleet, counted
            // among the stopped hosts' queues, until an operator gives it up.
            library.holdAdds()
            try await core.copy(Self.distinctJPEG(8), to: "material/image/stranded.jpg")
            if let mine = core.catalog as? PostgresCatalog { await mine.close() }
            let queues = try await other.catalog.foreignQueues()
            #expect(queues.map(\.files) == [1])
            #expect(
                await CoreFixture.errno {
                    try await other.copy(Self.distinctJPEG(9), to: "material/image/stranded.jpg")
                }
                    == EBUSY)
            #expect(try await other.catalog.releaseQueue(ofHost: queues.first?.host ?? "") == 1)
            library.releaseAdds()
            try await other.copy(Self.distinctJPEG(9), to: "material/image/stranded.jpg")
            #expect(await other.fileSystem.syncQueuedUploads().failed.isEmpty)
            #expect(try await other.list("material/image").contains("stranded.jpg.media_id"))
            if let shared = other.catalog as? PostgresCatalog { await shared.close() }
        }
    }
}
