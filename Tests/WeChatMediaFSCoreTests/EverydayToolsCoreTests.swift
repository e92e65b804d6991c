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

/// What `truncate`, racing `cp`s, long names and `rm` of an open file see, through the
/// filesystem's methods.
@Suite("Everyday tools, in-process")
struct EverydayToolsCoreTests {
    static func with<T>(
        _ backend: CatalogBackend, _ body: (CoreFixture, InMemoryMediaService) async throws -> T
    ) async throws -> T {
        let clock = ManualClock(seconds: 1_796_116_470)
        let service = InMemoryMediaService(clock: clock)
        return try await CoreFixture.with(clock: clock, service: service, backend: backend) { core in
            try await body(core, service)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aTruncateShowsItsSizeAtOnceAndUploadsIt(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { core, service in
            let cat = Samples.bytes("cat.jpg")
            try await core.copy(cat, to: "image/t.jpg")
            let inode = try #require(try await core.inode("image/t.jpg"))
            // truncate(1): open without O_TRUNC, then ftruncate on the descriptor.
            let handle = try await core.fileSystem.open(inode: inode, flags: O_WRONLY, caller: CoreFixture.caller)
                .handle
            for size in [12_000, 4000] {
                let (reply, timeout) = try await core.fileSystem.setattr(
                    inode: inode, changes: AttributeChanges(size: UInt64(size), handle: handle),
                    caller: CoreFixture.caller)
                #expect(reply.size == UInt64(size), "the setattr reply carries the new size")
                #expect(timeout == 0)
                #expect(try await core.fileSystem.getattr(inode: inode).0.size == UInt64(size))
            }
            try await core.close(handle)
            #expect(try await core.attributes("image/t.jpg")?.size == 4000)
            #expect(try await core.read("image/t.jpg") == Array(cat[0..<4000]))
            let id = String(decoding: try await core.read("image/t.jpg.media_id").dropLast(), as: UTF8.self)
            #expect(service.stored(id)?.bytes == Array(cat[0..<4000]))
        }
    }

    /// FUSE hands a write to `writeAtOnce` on its own thread first: it lands in the spool there
    /// when nothing else of the handle is under way, and is left to the waiting `write` when
    /// it must copy an adopted spool first or would pass the limit.
    @Test(arguments: CatalogBackend.allCases) func aWriteIsAnsweredAtOnceOnlyWhenItNeedsNoWaiting(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, service in
            let cat = Samples.bytes("cat.jpg")
            let more = [UInt8](repeating: 0x5A, count: 300)
            func writeAtOnce(_ bytes: [UInt8], _ handle: UInt64, at offset: Int64) -> Int? {
                bytes.withUnsafeBytes {
                    core.fileSystem.writeAtOnce(inode: 0, handle: handle, offset: offset, data: $0)
                }
            }
            let handle = try await core.openForWriting("image/now.jpg")
            #expect(writeAtOnce(cat, handle, at: 0) == cat.count, "a fresh spool takes it at once")
            try await core.fileSystem.flush(inode: 0, handle: handle, caller: CoreFixture.caller)
            // The upload adopted the spool as the media's cached content: the next write copies it.
            #expect(writeAtOnce(more, handle, at: Int64(cat.count)) == nil)
            let written = try await core.fileSystem.write(
                inode: 0, handle: handle, offset: Int64(cat.count), data: more)
            #expect(written == more.count)
            #expect(writeAtOnce(more, handle, at: Int64(cat.count + more.count)) == more.count, "its own spool again")
            #expect(writeAtOnce(more, handle, at: Int64.max - 10) == nil, "past the limit: `write` refuses it")
            try await core.close(handle)

            let id = String(decoding: try await core.read("image/now.jpg.media_id").dropLast(), as: UTF8.self)
            #expect(service.stored(id)?.bytes == cat + more + more)
            #expect(try await core.read("image/now.jpg") == cat + more + more)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func truncateByPathDoesWhatFtruncateDoes(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { core, service in
            let cat = Samples.bytes("cat.jpg")
            try await core.copy(cat, to: "image/p.jpg")
            let before = String(decoding: try await core.read("image/p.jpg.media_id").dropLast(), as: UTF8.self)
            let inode = try #require(try await core.inode("image/p.jpg"))
            // os.truncate(path, 5000): a setattr with a size and no open file.
            let (reply, _) = try await core.fileSystem.setattr(
                inode: inode, changes: AttributeChanges(permissions: 0o600, size: 5000), caller: CoreFixture.caller)
            #expect(reply.size == 5000)
            #expect(reply.permissions == 0o600)
            #expect(try await core.read("image/p.jpg") == Array(cat[0..<5000]))
            let after = String(decoding: try await core.read("image/p.jpg.media_id").dropLast(), as: UTF8.self)
            #expect(after != before, "uploaded again")
            #expect(service.stored(after)?.bytes == Array(cat[0..<5000]))
            // A size the rules refuse fails as the close of ftruncate would, and keeps the upload.
            let refused = await CoreFixture.errno {
                _ = try await core.fileSystem.setattr(
                    inode: inode, changes: AttributeChanges(size: 2), caller: CoreFixture.caller)
            }
            #expect(refused == EINVAL)
            #expect(try await core.read("image/p.jpg") == Array(cat[0..<5000]))
        }
    }

    @Test(arguments: CatalogBackend.allCases) func sidecarsAreWrittenAndRemovedWithoutChangeWhereTheirFileExists(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, service in
            try await core.copy(Samples.bytes("cat.jpg"), to: "image/a.jpg")
            let id = try await core.read("image/a.jpg.media_id")
            // rsync --delete removes it; cp -r of a backup writes it over; cp -a sets its times.
            #expect(await CoreFixture.errno { try await core.unlink("image/a.jpg.media_id") } == nil)
            #expect(
                await CoreFixture.errno { try await core.copy(Array("forged\n".utf8), to: "image/a.jpg.media_id") }
                    == nil)
            let sidecar = try #require(try await core.inode("image/a.jpg.media_id"))
            _ = try await core.fileSystem.setattr(
                inode: sidecar,
                changes: AttributeChanges(permissions: 0o644, modificationTime: timespec(tv_sec: 1, tv_nsec: 0)),
                caller: CoreFixture.caller)
            #expect(try await core.read("image/a.jpg.media_id") == id, "the sidecar keeps telling the real id")
            #expect(service.uploadCount == 1)
            // A file being copied (not uploaded yet) may get its sidecar written too.
            let handle = try await core.openForWriting("image/b.jpg")
            #expect(
                await CoreFixture.errno { try await core.copy(Array("x\n".utf8), to: "image/b.jpg.media_id") } == nil)
            try await core.write(Samples.bytes("thumb.jpg"), to: handle)
            try await core.close(handle)
            #expect(try await core.list("image").sorted() == ["a.jpg", "a.jpg.media_id", "b.jpg", "b.jpg.media_id"])
            // Without its file a sidecar name is refused, and sidecars are not renamed.
            #expect(
                await CoreFixture.errno { try await core.copy(Array("x\n".utf8), to: "image/c.jpg.media_id") } == EACCES
            )
            #expect(await CoreFixture.errno { try await core.unlink("image/c.jpg.media_id") } == ENOENT)
            #expect(await CoreFixture.errno { try await core.rename("image/a.jpg.media_id", to: "image/z") } == EACCES)
        }
    }

    /// The root composes trees: each tree's names stay in it, as on separate filesystems, so
    /// `mv` between trees copies (EXDEV) and the copy meets the target's own rules.
    @Test func eachTreeKeepsItsNamesAndARenameBetweenTreesIsCrossDevice() async throws {
        try await Self.with(.sqlite) { core, service in
            try await core.copy(Samples.bytes("cat.jpg"), to: "image/a.jpg")
            let id = String(decoding: try await core.read("image/a.jpg.media_id"), as: UTF8.self)
                .trimmingCharacters(in: .newlines)
            #expect(try await core.list("").sorted() == ["by-id", "image", "thumb", "video", "voice"])
            #expect(try await core.list("by-id") == [id])
            // Out of the temporary-media tree into /by-id/ or the root, and back.
            #expect(await CoreFixture.errno { try await core.rename("image/a.jpg", to: "by-id/x") } == EXDEV)
            #expect(await CoreFixture.errno { try await core.rename("image/a.jpg", to: "x") } == EXDEV)
            #expect(await CoreFixture.errno { try await core.rename("by-id/" + id, to: "image/b.jpg") } == EACCES)
            // The copy mv falls back to meets /by-id/'s rules, and the root's folders are fixed.
            #expect(await CoreFixture.errno { try await core.copy(Samples.bytes("cat.jpg"), to: "by-id/x") } == EACCES)
            #expect(await CoreFixture.errno { try await core.rename("image", to: "pictures") } == EROFS)
            #expect(await CoreFixture.errno { try await core.unlink("by-id") } == EROFS)
            #expect(await CoreFixture.errno { try await core.unlink("nothing") } == ENOENT)
            #expect(await CoreFixture.errno { try await core.mkdir("new") } == EROFS)
            #expect(await CoreFixture.errno { try await core.unlink("by-id/" + id) } == EACCES)
            // Nothing moved, nothing was uploaded again.
            #expect(try await core.list("image").sorted() == ["a.jpg", "a.jpg.media_id"])
            #expect(service.uploadCount == 1)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func onlyTheOpenersCloseUploadsWhileTheOpenerLives(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, service in
            // Another live process: a child that inherited the descriptor, or a command in a group.
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/bin/sleep")
            child.arguments = ["60"]
            try child.run()
            defer {
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
            }
            let opener = Caller(uid: 1000, gid: 1000, pid: getpid())
            let other = Caller(uid: 1000, gid: 1000, pid: child.processIdentifier)
            let song = Samples.bytes("hello.mp3")
            let (head, tail) = (Array(song[0..<10_000]), Array(song[10_000...]))

            // { head -c 10000 f; tail -c +10001 f; } > voice/grp.mp3
            let (parent, name) = try await core.split("voice/grp.mp3")
            let group = try await core.fileSystem.create(
                parent: parent, name: name, permissions: 0o644, flags: O_WRONLY | O_CREAT, caller: opener
            ).1.handle
            try await core.write(head, to: group)
            try await core.fileSystem.flush(inode: 0, handle: group, caller: other)
            #expect(service.uploadCount == 0, "head's close is not the end of the file")
            try await core.write(tail, to: group, at: Int64(head.count))
            try await core.fileSystem.flush(inode: 0, handle: group, caller: other)
            try await core.fileSystem.flush(inode: 0, handle: group, caller: opener)
            try await core.fileSystem.release(inode: 0, handle: group)
            #expect(service.uploadCount == 1, "one upload, of the whole file")
            let id = String(decoding: try await core.read("voice/grp.mp3.media_id").dropLast(), as: UTF8.self)
            #expect(service.stored(id)?.bytes == song)

            // The opener closes first and another process writes on: the last release uploads.
            let (lateParent, lateName) = try await core.split("voice/late.mp3")
            let late = try await core.fileSystem.create(
                parent: lateParent, name: lateName, permissions: 0o644, flags: O_WRONLY | O_CREAT, caller: opener
            ).1.handle
            try await core.write(head, to: late)
            try await core.fileSystem.flush(inode: 0, handle: late, caller: opener)
            #expect(service.uploadCount == 2)
            try await core.write(tail, to: late, at: Int64(head.count))
            try await core.fileSystem.flush(inode: 0, handle: late, caller: other)
            #expect(service.uploadCount == 2, "the other process's close does not upload while the opener lives")
            try await core.fileSystem.release(inode: 0, handle: late)
            #expect(service.uploadCount == 3, "the last release uploads what no close did")
            let lateID = String(decoding: try await core.read("voice/late.mp3.media_id").dropLast(), as: UTF8.self)
            #expect(service.stored(lateID)?.bytes == song)
            #expect(try await core.read("voice/late.mp3") == song)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func aFailedDownloadFailsTheHandlesLaterReadsAtOnce(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, service in
            let cat = Samples.bytes("cat.jpg")
            try await core.copy(cat, to: "image/d.jpg")
            let id = String(decoding: try await core.read("image/d.jpg.media_id").dropLast(), as: UTF8.self)
            // Not cached: the read must download.
            try FileManager.default.removeItem(atPath: core.directory + "/cache/content/" + id)
            service.failDownloads(with: TransportError.deadlineExceeded(seconds: 30))
            let inode = try #require(try await core.inode("image/d.jpg"))
            let handle = try await core.fileSystem.open(inode: inode, flags: O_RDONLY, caller: CoreFixture.caller)
                .handle
            for offset in [0, 4096, 8192] {
                let failed = await CoreFixture.errno {
                    _ = try await core.fileSystem.read(inode: inode, handle: handle, offset: Int64(offset), size: 4096)
                }
                #expect(failed == EIO)
            }
            #expect(service.downloadCount == 1, "the kernel's read-ahead retries cost no second download")
            try await core.fileSystem.release(inode: inode, handle: handle)
            // A file opened after the failure tries again.
            service.failDownloads(with: nil)
            #expect(try await core.read("image/d.jpg") == cat)
            #expect(service.downloadCount == 2)
        }
    }

    @Test func theOnlyCopyOfAVideoIsKeptPastTheCapAndEvictedForTheFloorOnlyWithAReport() async throws {
        let clock = ManualClock(seconds: 1_796_116_470)
        let service = InMemoryMediaService(clock: clock)
        var settings = CoreFixture.defaultSettings
        settings.cacheMaxBytes = 0
        let core = try await CoreFixture.make(clock: clock, service: service, settings: settings)
        defer { core.remove() }
        let clip = Samples.bytes("clip.mp4")
        try await core.copy(clip, to: "video/clip.mp4")
        try await core.copy(Samples.bytes("cat.jpg"), to: "image/cat.jpg")
        // Over the cap: the JPEG's bytes go (the API serves them again), the video's stay.
        #expect(try await core.read("video/clip.mp4") == clip)
        #expect(service.downloadCount == 0)
        #expect(try await core.read("image/cat.jpg") == Samples.bytes("cat.jpg"))
        #expect(service.downloadCount == 1, "the evicted JPEG was downloaded again")

        // Below the free-space floor even the only copy goes, and says so.
        settings.minimumFreeBytes = .max
        let tight = try await CoreFixture.make(
            clock: clock, service: service, catalogPath: nil, settings: settings)
        defer { tight.remove() }
        try await tight.copy(clip, to: "video/clip.mp4")
        let failures = await tight.fileSystem.status(mountpoint: "", apiBase: "", startedAt: Date()).recentFailures
        #expect(
            failures.contains { $0.summary.hasPrefix("evict by-id/") && $0.summary.contains("ENOSPC (the only copy") },
            "\(failures.map(\.summary))")
    }

    @Test(arguments: CatalogBackend.allCases) func theLoserOfTwoCreatesSeesTheWinnersBytesAtOnce(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, _ in
            let (parent, name) = try await core.split("image/race.jpg")
            let (first, winner) = try await core.fileSystem.create(
                parent: parent, name: name, permissions: 0o644, flags: O_WRONLY | O_CREAT, caller: CoreFixture.caller)
            #expect(first.entryTimeout == 0 && first.attributeTimeout == 0, "a name being written is not cached")
            let (second, loser) = try await core.fileSystem.create(
                parent: parent, name: name, permissions: 0o644, flags: O_WRONLY | O_CREAT, caller: CoreFixture.caller)
            #expect(second.attributeTimeout == 0)
            let cat = Samples.bytes("cat.jpg")
            try await core.write(cat, to: winner.handle)
            try await core.close(winner.handle)
            try await core.close(loser.handle)
            #expect(try await core.attributes("image/race.jpg")?.size == UInt64(cat.count))
            #expect(try await core.read("image/race.jpg") == cat)
        }
    }

    /// `cp` opens its copy with O_EXCL, then fstats it: the kernel may answer that itself (it
    /// keeps the size as it writes), while the name stays uncached and any lookup of it answers
    /// uncached attributes, which replace the kernel's copy.
    @Test(arguments: CatalogBackend.allCases) func aFileCreatedExclusivelyLeavesItsAttributesToTheKernel(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, _ in
            let (parent, name) = try await core.split("image/exclusive.jpg")
            let (created, file) = try await core.fileSystem.create(
                parent: parent, name: name, permissions: 0o644, flags: O_WRONLY | O_CREAT | O_EXCL,
                caller: CoreFixture.caller)
            #expect(created.entryTimeout == 0, "a name being written is not cached")
            #expect(created.attributeTimeout == core.settings.cacheTimeout)
            #expect(created.attributeTimeout > 0)
            let cat = Samples.bytes("cat.jpg")
            try await core.write(cat, to: file.handle)
            let looked = try await core.fileSystem.lookup(parent: parent, name: name)
            #expect(looked.attributeTimeout == 0 && looked.entryTimeout == 0)
            #expect(looked.attributes?.size == UInt64(cat.count))
            try await core.close(file.handle)
            #expect(try await core.read("image/exclusive.jpg") == cat)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func namesPast255BytesAndSidecarsPast255AreRefused(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, _ in
            let tooLong = await CoreFixture.errno {
                try await core.copy(Samples.bytes("cat.jpg"), to: "image/" + String(repeating: "n", count: 256))
            }
            #expect(tooLong == ENAMETOOLONG)
            // 247 bytes + ".media_id" is 256: the sidecar could not be copied out.
            let sidecarTooLong = await CoreFixture.errno {
                try await core.copy(Samples.bytes("cat.jpg"), to: "image/" + String(repeating: "s", count: 247))
            }
            #expect(sidecarTooLong == ENAMETOOLONG)
            let longest = String(repeating: "k", count: 246)
            try await core.copy(Samples.bytes("cat.jpg"), to: "image/" + longest)
            #expect(try await core.list("image").contains(longest + ".media_id"))
            #expect(
                await CoreFixture.errno { try await core.mkdir("image/" + String(repeating: "d", count: 255)) } == nil)
            #expect(
                await CoreFixture.errno { try await core.mkdir("image/" + String(repeating: "e", count: 256)) }
                    == ENAMETOOLONG)
            let renamed = await CoreFixture.errno {
                try await core.rename("image/" + longest, to: "image/" + String(repeating: "r", count: 250))
            }
            #expect(renamed == ENAMETOOLONG)
        }
    }

    @Test(arguments: CatalogBackend.allCases) func removingAFileWhileItIsWrittenLetsTheWriterCloseCleanly(
        backend: CatalogBackend
    ) async throws {
        try await Self.with(backend) { core, service in
            let handle = try await core.openForWriting("image/gone.jpg")
            try await core.write(Samples.bytes("cat.jpg"), to: handle)
            try await core.unlink("image/gone.jpg")
            try await core.close(handle)
            #expect(try await core.list("image") == [])
            #expect(service.uploadCount == 0, "a removed file is not uploaded")
        }
    }

    @Test(arguments: CatalogBackend.allCases) func anUploadAnsweredNotFoundIsAnIOErrorNotENOENT(backend: CatalogBackend)
        async throws
    {
        try await Self.with(backend) { core, service async throws in
            service.failNextUpload(with: APIError(errcode: 40007, errmsg: "invalid media_id"))
            let failed = await CoreFixture.errno { try await core.copy(Samples.bytes("cat.jpg"), to: "image/e.jpg") }
            #expect(failed == EIO)
            #expect(try await core.inode("image/e.jpg") == nil)
        }
    }
}
