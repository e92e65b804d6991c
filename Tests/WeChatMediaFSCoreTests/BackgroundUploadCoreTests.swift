import EmulatorTestSupport
import FUSEKit
import FleetCatalog
import Foundation
import LocalByteStore
import MediaCatalog
import Testing
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// `--uploads background`, through the filesystem's methods: `close()` returns once a file is
/// queued on disk; the sidecar, `fsync` and `sync` wait for the upload and tell its errno; a
/// failure stays with its file; rm, mv, a rewrite and a crash lose nothing and mix nothing up.
/// The in-memory service holds uploads when told, so every in-between state is looked at.
@Suite("Background uploads, in-process")
struct BackgroundUploadCoreTests {
    static var settings: MountSettings {
        var settings = CoreFixture.defaultSettings
        settings.uploadMode = .background
        settings.uploadConcurrency = 4
        settings.queuedUploadWait = .seconds(10)
        return settings
    }

    /// The settings, with failures that may pass tried again `delay` after they failed.
    static func settings(retryingAfter delay: Duration) -> MountSettings {
        var settings = Self.settings
        settings.queuedUploadRetryDelay = delay
        return settings
    }

    static func with<T>(
        _ backend: CatalogBackend, settings: MountSettings = Self.settings,
        _ body: (CoreFixture, InMemoryMediaService) async throws -> T
    ) async throws -> T {
        let clock = ManualClock(seconds: 1_796_116_470)
        let service = InMemoryMediaService(clock: clock)
        let core = try await CoreFixture.make(clock: clock, service: service, settings: settings, backend: backend)
        let result = await Result { try await body(core, service) }
        service.releaseUploads()
        await core.close()
        return try result.get()
    }

    static func state(_ core: CoreFixture, _ path: String) async throws -> String? {
        guard let inode = try await core.inode(path) else { return nil }
        let value = try? await core.fileSystem.getxattr(inode: inode, name: "user.wechat.state")
        return value.map { String(decoding: $0, as: UTF8.self) }
    }

    static func mediaID(_ core: CoreFixture, _ path: String) async throws -> String {
        String(decoding: try await core.read(path + ".media_id").dropLast(), as: UTF8.self)
    }

    static func distinctJPEG(_ seed: Int) -> [UInt8] {
        Samples.jpeg(size: 20_000) + Array("seed \(seed)".utf8)
    }

    @Test(arguments: CatalogBackend.allCases) func closeReturnsOnceQueuedAndTheSidecarWaitsForTheUpload(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.holdUploads()
            let bytes = Self.distinctJPEG(1)
            try await core.copy(bytes, to: "image/a.jpg")
            #expect(await eventually { service.heldUploads == 1 }, "the upload started after close returned")
            // Queued: listed with its size, read from its local bytes, no sidecar listed yet.
            #expect(try await core.list("image") == ["a.jpg"])
            #expect(try await core.attributes("image/a.jpg")?.size == UInt64(bytes.count))
            #expect(try await core.read("image/a.jpg") == bytes)
            #expect(try await Self.state(core, "image/a.jpg") == "uploading")
            // A sidecar read waits for the upload, then tells its id.
            let sidecar = Task { try await Self.mediaID(core, "image/a.jpg") }
            service.releaseUploads()
            let id = try await sidecar.value
            #expect(service.stored(id)?.bytes == bytes)
            #expect(try await core.list("image") == ["a.jpg", "a.jpg.media_id"])
            #expect(try await Self.state(core, "image/a.jpg") == "uploaded")
            let status = await core.fileSystem.syncQueuedUploads()
            #expect(status.queued + status.uploading == 0 && status.failed.isEmpty)
        }
    }

    @Test func aSidecarWaitIsBoundedAndSaysItTimedOut() async throws {
        var settings = Self.settings
        settings.queuedUploadWait = .milliseconds(200)
        try await Self.with(.sqlite, settings: settings) {
            (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.holdUploads()
            try await core.copy(Self.distinctJPEG(2), to: "image/slow.jpg")
            // Should the wait not be bounded, the upload is let go after 60 s and the read
            // succeeds: the test then fails instead of hanging.
            let failSafe = Task {
                try await Task.sleep(for: .seconds(60))
                service.releaseUploads()
            }
            let code = await CoreFixture.errno { _ = try await core.read("image/slow.jpg.media_id") }
            failSafe.cancel()
            #expect(code == ETIMEDOUT, "the wait ran out: ETIMEDOUT, not a hang and not 'no such file'")
            #expect(service.heldUploads == 1, "the upload itself goes on")
        }
    }

    @Test func filesTheRulesRefuseFailAtCloseAsInSyncMode() async throws {
        try await Self.with(.sqlite) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            let code = await CoreFixture.errno { try await core.copy(Samples.bytes("cat.png"), to: "voice/a.mp3") }
            #expect(code == EINVAL)
            #expect(try await core.list("voice") == [])
            #expect(service.uploadCount == 0)
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty, "a refusal at close is not queued")
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aFailedUploadStaysWithItsReasonUntilRemovedOrWrittenAgain(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.failNextUpload(with: APIError(errcode: 40005, errmsg: "invalid file type"))
            let bytes = Self.distinctJPEG(3)
            try await core.copy(bytes, to: "image/bad.jpg")
            let status = await core.fileSystem.syncQueuedUploads()
            #expect(status.failed.map(\.name) == ["image/bad.jpg"])
            #expect(status.failed.first?.errno == "EINVAL" && status.failed.first?.errcode == 40005)
            #expect(try await core.list("image") == ["bad.jpg"], "listed, without a sidecar")
            #expect(try await Self.state(core, "image/bad.jpg") == "failed")
            let inode = try #require(try await core.inode("image/bad.jpg"))
            let reason = String(
                decoding: try await core.fileSystem.getxattr(inode: inode, name: "user.wechat.error"), as: UTF8.self)
            #expect(reason.contains("EINVAL") && reason.contains("40005"), "\(reason)")
            #expect(try await core.read("image/bad.jpg") == bytes, "its bytes are still here")
            #expect(await CoreFixture.errno { _ = try await core.read("image/bad.jpg.media_id") } == EINVAL)
            let opened = try await core.fileSystem.open(inode: inode, flags: O_RDONLY, caller: CoreFixture.caller)
            #expect(
                await CoreFixture.errno { try await core.fileSystem.fsync(inode: inode, handle: opened.handle) }
                    == EINVAL)
            try await core.fileSystem.release(inode: inode, handle: opened.handle)
            // The failure survives a remount.
            let again = try await core.reopened()
            #expect(await again.fileSystem.syncQueuedUploads().failed.map(\.name) == ["image/bad.jpg"])
            // Written again: queued again, uploaded.
            try await again.copy(bytes, to: "image/bad.jpg")
            #expect(await again.fileSystem.syncQueuedUploads().failed.isEmpty)
            #expect(service.stored(try await Self.mediaID(again, "image/bad.jpg"))?.bytes == bytes)
            // Removed after failing: forgotten.
            service.failNextUpload(with: APIError(errcode: 40005, errmsg: "invalid file type"))
            try await again.copy(Self.distinctJPEG(4), to: "image/gone.jpg")
            #expect(await again.fileSystem.syncQueuedUploads().failed.count == 1)
            try await again.unlink("image/gone.jpg")
            #expect(await again.fileSystem.syncQueuedUploads().failed.isEmpty)
            #expect(try await again.list("image") == ["bad.jpg", "bad.jpg.media_id"])
        }
    }

    /// The queue's failure record is a versioned type of its own (issue 21): a record written by
    /// the version before it (`Fixtures/queue-failure-v1.json`, dates as seconds since 2001, the
    /// status display's field names) is still read by a remount.
    @Test func aFailureRecordOfTheFirstFormatIsReadAfterAnUpgrade() async throws {
        try await Self.with(.sqlite) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.failNextUpload(with: APIError(errcode: 40005, errmsg: "invalid file type"))
            try await core.copy(Self.distinctJPEG(5), to: "image/bad.jpg")
            #expect(await core.fileSystem.syncQueuedUploads().failed.count == 1)
            let records = try FileManager.default.subpathsOfDirectory(atPath: core.directory)
                .filter { $0.hasSuffix(".failed") }
            let record = try #require(records.first, "a failure record beside the queued file")
            #expect(records.count == 1)
            let fixture = try #require(
                Bundle.module.url(forResource: "queue-failure-v1", withExtension: "json", subdirectory: "Fixtures"))
            try Data(contentsOf: fixture).write(
                to: URL(fileURLWithPath: core.directory + "/" + record))

            let again = try await core.reopened()
            let failed = await again.fileSystem.syncQueuedUploads().failed
            #expect(failed.count == 1)
            #expect(failed.first?.name == "image/bad.jpg" && failed.first?.operation == "upload")
            #expect(failed.first?.errno == "E2BIG" && failed.first?.errcode == 40006)
            #expect(failed.first?.errmsg == "invalid media size (a record of the first format)")
            #expect(failed.first?.at == Date(timeIntervalSinceReferenceDate: 786_000_000))
            let inode = try #require(try await again.inode("image/bad.jpg"))
            let opened = try await again.fileSystem.open(inode: inode, flags: O_RDONLY, caller: CoreFixture.caller)
            #expect(
                await CoreFixture.errno { try await again.fileSystem.fsync(inode: inode, handle: opened.handle) }
                    == E2BIG, "the record's errno is what a waiter gets")
            try await again.fileSystem.release(inode: inode, handle: opened.handle)
        }
    }

    /// A queued upload that failed for a reason that may pass (the server busy, an outage
    /// longer than the call's retries) is tried again by itself, later each time, until it passes.
    @Test(arguments: CatalogBackend.allCases) func anUploadThatFailedForNowIsTriedAgainByItself(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend, settings: Self.settings(retryingAfter: .milliseconds(20))) {
            (core: CoreFixture, service: InMemoryMediaService) in
            service.failNextUpload(with: APIError(errcode: -1, errmsg: "system error"))
            service.failNextUpload(with: TransportError.deadlineExceeded(seconds: 30))
            service.failNextUpload(with: APIError(errcode: 45009, errmsg: "reach max api daily quota limit"))
            let bytes = Self.distinctJPEG(20)
            try await core.copy(bytes, to: "image/later.jpg")
            #expect(
                await eventually { (try? await Self.state(core, "image/later.jpg")) == "uploaded" },
                "tried again until it passed, nobody asking")
            #expect(service.stored(try await Self.mediaID(core, "image/later.jpg"))?.bytes == bytes)
            #expect(service.uploadCount == 1)
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty)
        }
    }

    /// Its next try is told (`status`, `sync`) and kept on disk: `sync` tries it at once, and so
    /// does a later mount's, whose own tries go on after a failure.
    @Test(arguments: CatalogBackend.allCases) func syncTriesAFailureThatMayPassAtOnceAndARemountKeepsIt(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend, settings: Self.settings(retryingAfter: .seconds(3600))) {
            (core: CoreFixture, service: InMemoryMediaService) in
            service.failNextUpload(with: TransportError.connection("connection refused"))
            let bytes = Self.distinctJPEG(21)
            try await core.copy(bytes, to: "image/outage.jpg")
            #expect(await eventually { (try? await Self.state(core, "image/outage.jpg")) == "failed" })
            let queue = try #require(
                await core.fileSystem.status(mountpoint: "", apiBase: "", startedAt: Date()).uploadQueue)
            let failure = try #require(queue.failed.first)
            let retryAt = try #require(failure.retryAt, "the failure says when it is tried again")
            #expect(retryAt > Date() + 3500 && retryAt < Date() + 3700, "\(retryAt)")
            #expect(failure.summaryWithRetry.hasPrefix(failure.summary + "; tried again by itself at 20"))
            let records = try FileManager.default.subpathsOfDirectory(atPath: core.directory)
                .filter { $0.hasSuffix(".failed") }
            #expect(records.count == 1)
            let record = try #require(records.first)
            let fields =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: core.directory + "/" + record))) as? [String: Any]
            #expect(fields?["mayPass"] as? Bool == true, "the next mount tries it again too")

            service.failNextUpload(with: APIError(errcode: -1, errmsg: "system error"))
            let again = try await core.reopened()
            let first = await again.fileSystem.syncQueuedUploads()
            #expect(first.failed.map(\.name) == ["image/outage.jpg"], "sync's try failed too")
            #expect(first.failed.first?.retryAt != nil, "and it is tried again later")
            let second = await again.fileSystem.syncQueuedUploads()
            #expect(second.failed.isEmpty)
            #expect(
                try FileManager.default.subpathsOfDirectory(atPath: core.directory).filter { $0.contains("queue/") }
                    == [], "nothing left in the queue, no failure record either")
            #expect(service.stored(try await Self.mediaID(again, "image/outage.jpg"))?.bytes == bytes)
            #expect(service.uploadCount == 1)
        }
    }

    /// In an outage, tries again cost one request a round, not one a file: `sync` (like the
    /// timer) tries one failed upload first, and the others only once it passed.
    @Test(arguments: CatalogBackend.allCases) func triesAgainInAnOutageSendOneFirst(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend, settings: Self.settings(retryingAfter: .seconds(3600))) {
            (core: CoreFixture, service: InMemoryMediaService) in
            let files = (0..<4).map { (path: "image/outage\($0).jpg", bytes: Self.distinctJPEG(30 + $0)) }
            let outage = TransportError.connection("connection refused")
            for file in files { service.failUploads(of: file.bytes, with: outage) }
            for file in files { try await core.copy(file.bytes, to: file.path) }
            let failed = await core.fileSystem.syncQueuedUploads()
            #expect(failed.failed.count == 4)
            let before = service.uploadAttempts
            #expect(before >= 4, "each tried once at least (sync may have tried one again)")
            let still = await core.fileSystem.syncQueuedUploads()
            #expect(still.failed.count == 4 && still.failed.allSatisfy { $0.retryAt != nil })
            #expect(service.uploadAttempts == before + 1, "one try for the four")

            service.clearFailures()
            let back = await core.fileSystem.syncQueuedUploads()
            #expect(back.failed.isEmpty, "the first passed, and the others went")
            #expect(service.uploadAttempts == before + 2 + 3)
            for file in files {
                #expect(service.stored(try await Self.mediaID(core, file.path))?.bytes == file.bytes)
            }
        }
    }

    /// What the server may have acted on (no reply in time, a reply cut off), an answer that is
    /// not the API's, and a refusal no try cures are not tried again: not by the queue, not by
    /// `sync` (each failure here is the service's once: another try would pass).
    @Test(arguments: ["no reply", "cut off", "not the API's", "40005"])
    func anUploadThatMayHaveArrivedOrCannotPassIsNotTriedAgain(failure: String) async throws {
        try await Self.with(.sqlite, settings: Self.settings(retryingAfter: .milliseconds(1))) {
            (core: CoreFixture, service: InMemoryMediaService) in
            let error: any Error =
                switch failure {
                case "no reply": TransportError.noReply("no reply within 30 s")
                case "cut off": TransportError.cutOff("the connection ended before the whole reply")
                case "not the API's": TransportError.invalidResponse("an HTML page")
                default: APIError(errcode: 40005, errmsg: "invalid file type")
                }
            service.failNextUpload(with: error)
            try await core.copy(Self.distinctJPEG(22), to: "image/once.jpg")
            let first = await core.fileSystem.syncQueuedUploads()
            #expect(first.failed.map(\.name) == ["image/once.jpg"])
            #expect(first.failed.first?.retryAt == nil, "no try planned")
            let second = await core.fileSystem.syncQueuedUploads()
            #expect(second.failed.map(\.name) == ["image/once.jpg"], "sync did not try it again")
            #expect(try await Self.state(core, "image/once.jpg") == "failed")
            #expect(service.uploadCount == 0)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func renamesAndRemovalsOfQueuedFilesAreHonoured(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.holdUploads()
            let (a, b, c) = (Self.distinctJPEG(5), Self.distinctJPEG(6), Self.distinctJPEG(7))
            try await core.copy(a, to: "image/a.jpg")
            try await core.copy(b, to: "image/b.jpg")
            try await core.copy(c, to: "image/c.jpg")
            #expect(await eventually { service.heldUploads == 3 })
            try await core.rename("image/a.jpg", to: "image/renamed.jpg")
            try await core.unlink("image/b.jpg")
            // c's upload is in flight: removed, and a new c written, the old answer must not
            // land on the new name.
            try await core.unlink("image/c.jpg")
            let c2 = Self.distinctJPEG(8)
            try await core.copy(c2, to: "image/c.jpg")
            service.releaseUploads()
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty)
            #expect(
                try await core.list("image").sorted() == [
                    "c.jpg", "c.jpg.media_id", "renamed.jpg", "renamed.jpg.media_id",
                ])
            #expect(service.stored(try await Self.mediaID(core, "image/renamed.jpg"))?.bytes == a)
            #expect(service.stored(try await Self.mediaID(core, "image/c.jpg"))?.bytes == c2)
            #expect(try await core.read("image/c.jpg") == c2)
        }
    }

    @Test func aFileWrittenAgainWhileQueuedUploadsItsNewestBytes() async throws {
        try await Self.with(.sqlite) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.holdUploads()
            let first = Self.distinctJPEG(9)
            try await core.copy(first, to: "image/w.jpg")
            #expect(await eventually { service.heldUploads == 1 })
            let second = Self.distinctJPEG(10)
            try await core.copy(second, to: "image/w.jpg")
            #expect(try await core.read("image/w.jpg") == second, "a read gives the newest bytes")
            service.releaseUploads()
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty)
            #expect(service.stored(try await Self.mediaID(core, "image/w.jpg"))?.bytes == second)
            // And an uploaded file rewritten keeps telling its old id only until the new upload.
            service.holdUploads()
            let third = Self.distinctJPEG(11)
            try await core.copy(third, to: "image/w.jpg")
            #expect(try await core.list("image") == ["w.jpg"], "no sidecar while its new bytes wait")
            #expect(try await core.attributes("image/w.jpg")?.size == UInt64(third.count))
            service.releaseUploads()
            #expect(service.stored(try await Self.mediaID(core, "image/w.jpg"))?.bytes == third)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aCrashLosesNoQueuedFile(backend: CatalogBackend) async throws {
        try await Self.with(backend) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.holdUploads()
            var files: [String: [UInt8]] = [:]
            for index in 0..<6 {
                files["image/q\(index).jpg"] = Self.distinctJPEG(100 + index)
                try await core.copy(files["image/q\(index).jpg"] ?? [], to: "image/q\(index).jpg")
            }
            // The mount dies with every upload in flight or queued (its requests never end);
            // the next mount on the same cache dir, with a working server, resumes them.
            let fresh = InMemoryMediaService(clock: core.clock)
            let next = try await core.reopened(service: fresh)
            let status = await next.fileSystem.syncQueuedUploads()
            #expect(status.failed.isEmpty)
            #expect(fresh.uploadCount == 6)
            for (path, bytes) in files {
                #expect(fresh.stored(try await Self.mediaID(next, path))?.bytes == bytes, "\(path)")
            }
            #expect(try await next.list("image").count == 12)
        }
    }

    @Test func aWriteThatWouldBreakTheFreeSpaceFloorFailsWithENOSPC() async throws {
        var settings = Self.settings
        // More than the disk has free: every background write would break the floor.
        let probe = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: probe) }
        settings.minimumFreeBytes = try ContentCache(root: probe).freeBytes().saturatingAddForTest(1 << 30)
        try await Self.with(.sqlite, settings: settings) {
            (core: CoreFixture, service: InMemoryMediaService) async throws in
            let code = await CoreFixture.errno { try await core.copy(Self.distinctJPEG(12), to: "image/full.jpg") }
            #expect(code == ENOSPC)
            #expect(try await core.list("image") == [], "nothing left behind")
            #expect(service.uploadCount == 0)
        }
    }

    @Test func queuedFilesAreNeverEvictedByTheContentCache() async throws {
        var settings = Self.settings
        settings.cacheMaxBytes = 0
        try await Self.with(.sqlite, settings: settings) {
            (core: CoreFixture, service: InMemoryMediaService) async throws in
            service.holdUploads()
            var files: [String: [UInt8]] = [:]
            for index in 0..<5 {
                files["image/e\(index).jpg"] = Self.distinctJPEG(200 + index)
                try await core.copy(files["image/e\(index).jpg"] ?? [], to: "image/e\(index).jpg")
            }
            // A cache capped at 0 bytes evicts whatever it holds: none of the queue is its.
            await core.fileSystem.sweep()
            for (path, bytes) in files { #expect(try await core.read(path) == bytes, "\(path)") }
            service.releaseUploads()
            #expect(await core.fileSystem.syncQueuedUploads().failed.isEmpty)
            for (path, bytes) in files {
                #expect(service.stored(try await Self.mediaID(core, path))?.bytes == bytes, "\(path)")
            }
        }
    }

    @Test func fsyncOfAWriteHandleQueuesAndWaits() async throws {
        try await Self.with(.sqlite) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            let bytes = Self.distinctJPEG(13)
            let handle = try await core.openForWriting("image/d.jpg")
            try await core.write(bytes, to: handle)
            let inode = try #require(try await core.inode("image/d.jpg"))
            try await core.fileSystem.fsync(inode: inode, handle: handle)
            #expect(service.uploadCount == 1, "fsync returned after the upload")
            service.failNextUpload(with: APIError(errcode: 40005, errmsg: "invalid file type"))
            try await core.write(Array("more".utf8), to: handle, at: Int64(bytes.count))
            #expect(await CoreFixture.errno { try await core.fileSystem.fsync(inode: inode, handle: handle) } == EINVAL)
            try await core.close(handle)
        }
    }

    @Test func aQueuedFileIsInvisibleToOtherHostsUntilUploaded() async throws {
        try await Self.with(.postgres) { (core: CoreFixture, service: InMemoryMediaService) async throws in
            let other = try await core.otherHost()
            defer { try? FileManager.default.removeItem(atPath: other.directory) }
            service.holdUploads()
            try await core.copy(Self.distinctJPEG(14), to: "image/shared.jpg")
            #expect(try await core.list("image") == ["shared.jpg"])
            #expect(try await other.list("image") == [], "queued here: not there yet")
            service.releaseUploads()
            _ = await core.fileSystem.syncQueuedUploads()
            #expect(await eventually { (try? await other.list("image")) == ["shared.jpg", "shared.jpg.media_id"] })
            if let shared = other.catalog as? PostgresCatalog { await shared.close() }
        }
    }
}

extension Int64 {
    fileprivate func saturatingAddForTest(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
