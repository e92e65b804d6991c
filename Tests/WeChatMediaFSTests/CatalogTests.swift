import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Mount: expiry, remount, crash recovery, cache budget, offline")
struct CatalogTests {
    /// The names of the cached files and their total size.
    func cacheContents(_ m: MountFixture) -> ([String], Int) {
        let folder = m.cacheDirectory + "/content"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var total = 0
        for name in names {
            var info = stat()
            if stat(folder + "/" + name, &info) == 0 { total += Int(info.st_size) }
        }
        return (names, total)
    }

    func cachedBytes(_ m: MountFixture, _ id: String) -> Bool {
        FileManager.default.fileExists(atPath: m.cacheDirectory + "/content/" + id)
    }

    @Test func withAFiveSecondTTLAFileIsListedThenGoneEverywhere() async throws {
        try await MountFixture.with(arguments: ["--media-ttl", "5s"]) { m in
            let copy = try await m.shell(#"cp "$S/cat.jpg" "$M/image/" && cat "$M/image/cat.jpg.media_id""#)
            #expect(copy.status == 0, "\(copy.stderr)")
            let id = copy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let listed = try await m.shell(
                #"ls "$M/image" "$M/by-id" && getfattr -n user.wechat.media_id "$M/image/cat.jpg""#)
            #expect(listed.stdout.contains("cat.jpg.media_id") && listed.stdout.contains(id))
            #expect(cachedBytes(m, id))
            // Polled until hidden: how soon is the TTL's business, and `eventually`'s deadline
            // ends a wait for something that never happens.
            let gone = try await eventually {
                let now = try await m.shell(#"ls "$M/image" "$M/by-id""#)
                return !now.stdout.contains("cat.jpg") && !now.stdout.contains(id)
            }
            #expect(gone, "hidden from ls image/ and ls by-id/")
            let everywhere = try await m.shell(
                #"stat "$M/image/cat.jpg" || stat "$M/image/cat.jpg.media_id" || cat "$M/by-id/\#(id)" || getfattr -d "$M/image/cat.jpg"; echo done"#
            )
            #expect(everywhere.stderr.components(separatedBy: "No such file").count >= 4, "\(everywhere.stderr)")
            #expect(await eventually { !cachedBytes(m, id) }, "its cached bytes are purged")
        }
    }

    @Test func mediaTheServerNoLongerHasAreHidden() async throws {
        // A cap of 0 keeps nothing cached, so every read asks the server.
        try await MountFixture.with(arguments: ["--cache-max-size", "0"]) { m in
            let copy = try await m.shell(#"cp "$S/hello.amr" "$M/voice/" && cat "$M/voice/hello.amr.media_id""#)
            let id = copy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!cachedBytes(m, id))
            #expect(m.contents("voice/hello.amr") == Samples.bytes("hello.amr"), "downloaded again")
            // Three days pass on the server, not here: the catalog still believes the media alive.
            try await m.emulator.advanceClock(seconds: 3 * 24 * 3600)
            let read = try await m.shell(#"cat "$M/voice/hello.amr" > /dev/null"#)
            #expect(read.stderr.contains("No such file"), "\(read.stderr)")
            let listing = try await m.shell(#"ls -A "$M/voice" "$M/by-id""#)
            #expect(!listing.stdout.contains("hello.amr") && !listing.stdout.contains(id), "\(listing.stdout)")
            #expect(m.log.contains("errcode 40007"))
        }
    }

    @Test func aRemountBringsBackEveryEntryAndServesCachedBytesWithoutTheNetwork() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let first = try await MountFixture.start(emulator: emulator, folder: folder)
            let setup = try await first.shell(
                #"set -e; mkdir "$M/image/album"; cp "$S/cat.jpg" "$M/image/album/"; cp "$S/hello.mp3" "$M/voice/"; touch "$M/thumb/empty.jpg"; cat "$M/image/album/cat.jpg.media_id" "$M/voice/hello.mp3.media_id""#
            )
            #expect(setup.status == 0, "\(setup.stderr)")
            try await first.stop()

            let modes = try await first.shell(
                #"stat -c '%a' "$M/../cache" "$M/../cache/catalog.sqlite" "$M/../cache/content""#)
            #expect(modes.stdout == "700\n600\n700\n", "the cache is the user's alone: \(modes.stdout)")

            let second = try await MountFixture.start(emulator: emulator, folder: folder)
            let before = try await emulator.counters()
            let again = try await second.shell(
                #"set -e; cat "$M/image/album/cat.jpg.media_id" "$M/voice/hello.mp3.media_id"; cmp "$S/cat.jpg" "$M/image/album/cat.jpg"; cmp "$S/hello.mp3" "$M/voice/hello.mp3"; ls "$M/thumb"; ls "$M/by-id" | wc -l"#
            )
            #expect(again.status == 0, "\(again.stderr)")
            #expect(again.stdout.hasPrefix(setup.stdout), "the same ids")
            #expect(again.stdout.hasSuffix("empty.jpg\n2\n"))
            let after = try await emulator.counters()
            #expect(after == before, "no request for cached reads: \(before) -> \(after)")
            try await second.stop()
        }
    }

    @Test func aDaemonKilledDuringAnUploadLeavesNoHalfEntry() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let first = try await MountFixture.start(emulator: emulator, folder: folder)
            try await emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":3000}]}"#)
            let copy = Task { try await first.shell(#"cp "$S/cat.jpg" "$M/image/half.jpg""#) }
            #expect(try await eventually { try await emulator.counters()["upload", default: 0] > 0 })
            kill(first.processIdentifier, SIGKILL)
            #expect(try await copy.value.status != 0, "cp does not report success")
            _ = try await first.waitForExit()
            try await emulator.setFaults(#"{"rules":[]}"#)

            let second = try await MountFixture.start(emulator: emulator, folder: folder)
            let listing = try await second.shell(#"ls -A "$M/image"; ls -A "$M/../cache/spool" | wc -l"#)
            #expect(listing.stdout == "0\n", "no entry and no spool file: \(listing.stdout)")
            #expect(second.log.contains("left unfinished by an earlier run"))
            try await second.stop()
        }
    }

    @Test func aDaemonKilledDuringADownloadNeverServesThePartialFile() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let token = try await emulator.legacyToken()
            let upload = try await emulator.upload(
                Samples.bytes("cat.jpg"), filename: "c.jpg", type: "image", token: token)
            let id = try #require(upload.json["media_id"] as? String)
            let first = try await MountFixture.start(emulator: emulator, folder: folder)
            try await emulator.setFaults(#"{"rules":[{"endpoint":"get","kind":"trickle","fraction":1,"delay_ms":20}]}"#)
            let read = Task { try await first.shell(#"cat "$M/by-id/\#(id)" > /dev/null"#) }
            let partial = folder + "/cache/content/" + id + ".part"
            #expect(await eventually { FileManager.default.fileExists(atPath: partial) }, "the download started")
            kill(first.processIdentifier, SIGKILL)
            _ = try await read.value
            _ = try await first.waitForExit()
            try await emulator.setFaults(#"{"rules":[]}"#)

            let second = try await MountFixture.start(emulator: emulator, folder: folder)
            #expect(!FileManager.default.fileExists(atPath: partial), "the partial file is gone")
            #expect(!cachedBytes(second, id), "and was never taken for the whole")
            let whole = second.contents("by-id/\(id)") == Samples.bytes("cat.jpg")
            #expect(whole, "read again in full")
            try await second.stop()
        }
    }

    @Test func theCacheStaysUnderItsCapAndEvictedFilesAreDownloadedAgain() async throws {
        try await MountFixture.with(arguments: ["--cache-max-size", "20K"]) { m in try await checkEviction(m) }
    }

    private func checkEviction(_ m: MountFixture) async throws {
        let setup = try await m.shell(
            #"set -e; cp "$S/cat.jpg" "$M/image/1.jpg"; cp "$S/hello.amr" "$M/voice/2.amr"; cp "$S/cat.jpg" "$M/image/3.jpg"; cat "$M/image/1.jpg.media_id" "$M/image/3.jpg.media_id""#
        )
        #expect(setup.status == 0, "\(setup.stderr)")
        let ids = setup.stdout.split(separator: "\n").map(String.init)
        let contents = cacheContents(m)
        #expect(contents.1 <= 20 * 1024, "\(contents.1) bytes cached")
        #expect(ids.count == 2)
        #expect(!contents.0.contains(ids.first ?? ""), "the least recently used went first")
        #expect(contents.0.contains(ids.last ?? ""))
        let before = try await m.emulator.counters()["get", default: 0]
        #expect(m.contents("image/1.jpg") == Samples.bytes("cat.jpg"))
        let after = try await m.emulator.counters()["get", default: 0]
        #expect(after == before + 1)

        // A file open for reading is never evicted, however old: the next oldest goes instead.
        let open = try #require(FileHandle(forReadingAtPath: m.path("image/1.jpg")))
        // Three more 9 KB uploads evict everything else in turn; the open file becomes the oldest.
        let more = try await m.shell(#"for i in 5 6 7; do cp "$S/cat.jpg" "$M/image/$i.jpg" || exit 1; done"#)
        #expect(more.status == 0)
        #expect(cacheContents(m).0.contains(ids.first ?? ""), "the open file stayed cached")
        #expect(!cacheContents(m).0.contains(ids.last ?? ""), "while newer ones were evicted")
        #expect(cacheContents(m).1 <= 20 * 1024 + 9059, "over the cap only by the pinned file")
        try open.close()
    }

    @Test func offlineListingsAndCachedReadsWorkAndUploadsFailWithinTheBound() async throws {
        let data = try TemporaryDirectory.make()
        var emulator = try await EmulatorFixture.start(dataDirectory: data)
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        let mount = try await MountFixture.start(
            emulator: emulator, folder: folder, arguments: ["--request-timeout", "3s"])
        do {
            let token = try await emulator.legacyToken()
            let remote = try await emulator.upload(
                Samples.bytes("thumb.jpg"), filename: "t.jpg", type: "thumb", token: token)
            let remoteID = try #require(remote.json["thumb_media_id"] as? String)
            let setup = try await mount.shell(
                #"cp "$S/cat.jpg" "$M/image/" && stat "$M/by-id/\#(remoteID)" >/dev/null"#)
            #expect(setup.status == 0, "\(setup.stderr)")
            let port = emulator.port
            try await emulator.stop()

            let offline = try await mount.shell(
                #"set -e; ls "$M/image" "$M/by-id" >/dev/null; stat "$M/image/cat.jpg" >/dev/null; getfattr -d "$M/image/cat.jpg" >/dev/null; cmp "$S/cat.jpg" "$M/image/cat.jpg""#
            )
            #expect(offline.status == 0, "\(offline.stderr)")
            let started = ContinuousClock.now
            let upload = try await mount.shell(#"cp "$S/thumb.jpg" "$M/thumb/""#)
            let elapsed = started.duration(to: .now)
            #expect(upload.status != 0)
            #expect(upload.stderr.contains("Input/output error"), "\(upload.stderr)")
            // Bounded by the 3 s request timeout, not by a server that will never answer.
            #expect(elapsed < .seconds(3) * 3, "failed within the bound: \(elapsed)")
            #expect(!mount.exists("thumb/thumb.jpg"))
            let uncached = try await mount.shell(#"cat "$M/by-id/\#(remoteID)" > /dev/null"#)
            #expect(uncached.stderr.contains("Input/output error"), "\(uncached.stderr)")

            emulator = try await EmulatorFixture.start(dataDirectory: data, port: port)
            let back = try await mount.shell(
                #"cp "$S/thumb.jpg" "$M/thumb/" && cmp "$S/thumb.jpg" "$M/by-id/\#(remoteID)""#)
            #expect(back.status == 0, "works again without a remount: \(back.stderr)")
            try await mount.stop()
            try await emulator.stop()
        } catch {
            try? await mount.stop()
            try? await emulator.stop()
            throw error
        }
    }
}
