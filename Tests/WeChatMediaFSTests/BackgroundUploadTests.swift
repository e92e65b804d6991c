import EmulatorTestSupport
import Foundation
import LocalByteStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--uploads background` through a real mount, with real tools and the emulator holding or
/// failing uploads: `cp -r` returns before the uploads end, `wxmediafs sync` waits for them and
/// tells every failure, and nothing is lost to faults, a SIGKILL, an unmount, rm or mv.
@Suite("Mount: background uploads")
struct BackgroundUploadTests {
    static let background = ["--uploads", "background", "--log-level", "info"]

    /// `count` distinct small JPEGs in a new folder.
    static func sourceFolder(_ count: Int, size: Int = 20 * 1024) throws -> String {
        let folder = try TemporaryDirectory.make()
        for index in 0..<count {
            let bytes = [0xFF, 0xD8, 0xFF, 0xE0] + Samples.randomBytes(size - 4)
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/f\(index).jpg"))
        }
        return folder
    }

    static func sync(_ mount: MountFixture) async throws -> CommandResult {
        try await Command.run(Command.wxmediafsPath, ["sync", mount.mountpoint])
    }

    static func delay(_ milliseconds: Int) -> String {
        #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":\#(milliseconds)}]}"#
    }

    /// The media id in `relative`'s sidecar, if it has one.
    static func sidecarID(_ mount: MountFixture, _ relative: String) -> String? {
        mount.contents(relative + ".media_id").map {
            String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Whether the server holds exactly the bytes of `local` under the id of `relative`'s sidecar.
    static func serverHolds(_ mount: MountFixture, _ relative: String, bytesOf local: String, token: String)
        async throws -> Bool
    {
        guard let id = sidecarID(mount, relative), !id.isEmpty else { return false }
        let reply = try await mount.emulator.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)")
        return reply.body == Array(FileManager.default.contents(atPath: local) ?? Data())
    }

    @Test func cpOfAHundredFilesThenSyncPutsEveryOneOnTheServer() async throws {
        let source = try Self.sourceFolder(100)
        defer { try? FileManager.default.removeItem(atPath: source) }
        try await MountFixture.with(arguments: Self.background) { mount in
            try await mount.emulator.setFaults(Self.delay(100))
            let copy = try await mount.shell(#"cp -r '\#(source)' "$M/image/album""#)
            #expect(copy.status == 0, "\(copy.stderr)")
            let sync = try await Self.sync(mount)
            #expect(sync.status == 0, "\(sync.stderr)")
            try await mount.emulator.setFaults(#"{"rules":[]}"#)
            let token = try await mount.emulator.legacyToken()
            for index in 0..<100 {
                #expect(
                    try await Self.serverHolds(
                        mount, "image/album/f\(index).jpg", bytesOf: source + "/f\(index).jpg", token: token),
                    "f\(index).jpg")
            }
            let status = try await mount.status()
            #expect(status.stdout.contains("Upload queue (background): empty"), "\(status.stdout)")
        }
    }

    @Test func underFaultsEveryFileIsUploadedWholeOrReportedFailed() async throws {
        let total = 40
        let source = try Self.sourceFolder(total)
        defer { try? FileManager.default.removeItem(atPath: source) }
        let arguments = Self.background + ["--request-timeout", "10s", "--metrics-address", "127.0.0.1:0"]
        try await MountFixture.with(arguments: arguments) { mount in
            // 20% of upload answers are faults: half retried (system error, 503), half final (an
            // error dressed as a file, which no retry cures).
            try await mount.emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"errcode","fraction":0.05},{"endpoint":"upload","kind":"http503","fraction":0.05},{"endpoint":"upload","kind":"error_as_file","fraction":0.1},{"endpoint":"upload","kind":"delay","fraction":0.3,"delay_ms":100}]}"#
            )
            let copy = try await mount.shell(#"cp -r '\#(source)' "$M/image/f""#)
            #expect(copy.status == 0, "the rules accept them all: \(copy.stderr)")
            let sync = try await Self.sync(mount)
            try await mount.emulator.setFaults(#"{"rules":[]}"#)
            let status = try await mount.status().stdout
            let token = try await mount.emulator.legacyToken()
            var failed = 0
            for index in 0..<total {
                let name = "image/f/f\(index).jpg"
                let state = try await mount.shell(#"getfattr --only-values -n user.wechat.state "$M/\#(name)""#).stdout
                if try await Self.serverHolds(mount, name, bytesOf: source + "/f\(index).jpg", token: token) {
                    #expect(state == "uploaded", "\(name): \(state)")
                } else {
                    failed += 1
                    #expect(state == "failed", "\(name): neither uploaded nor failed but \(state)")
                    #expect(!mount.exists(name + ".media_id"), "\(name) has no sidecar")
                    #expect(sync.stderr.contains("upload \(name): EIO ("), "\(name): \(sync.stderr)")
                    #expect(status.contains("upload \(name): EIO ("), "\(name) is in status")
                    let error = try await mount.shell(#"getfattr --only-values -n user.wechat.error "$M/\#(name)""#)
                    #expect(error.stdout.hasPrefix("EIO ("), "\(name): \(error.stdout)")
                }
            }
            #expect(failed > 0, "the faults made some uploads fail for good")
            let metrics = try await Scrape.fetch(try await mount.metricsURL())
            let counted = ["none", "planned"].compactMap {
                metrics.value("wxmediafs_upload_queue_failed", ["retry": $0])
            }
            #expect(counted.count == 2 && Int(counted.reduce(0, +)) == failed, "the gauge counts them: \(counted)")
            #expect(sync.status == (failed > 0 ? 1 : 0), "sync's exit status: \(sync.stderr)")
            #expect(sync.stderr.contains("\(failed) upload(s) failed"), "\(sync.stderr)")
            // rm forgets a failure; writing the file again uploads it.
            let retry = try await mount.shell(
                #"for f in $(cd "$M/image/f" && ls | grep -v media_id); do [ -e "$M/image/f/$f.media_id" ] || cp '\#(source)'/$f "$M/image/f/$f"; done"#
            )
            #expect(retry.status == 0, "\(retry.stderr)")
            #expect(try await Self.sync(mount).status == 0)
        }
    }

    /// Uploads that failed during an outage are failures that may pass: `sync` and `status` say
    /// when each is tried again by itself (and the metrics how many wait so), and the next `sync`
    /// tries them at once.
    @Test func uploadsFailedDuringAnOutageAreTriedAgainAndSyncTriesThemAtOnce() async throws {
        let arguments = Self.background + ["--request-timeout", "2s", "--metrics-address", "127.0.0.1:0"]
        try await MountFixture.with(arguments: arguments) { mount in
            try await mount.emulator.setFaults(#"{"rules":[{"endpoint":"upload","kind":"http503","fraction":1}]}"#)
            let copy = try await mount.shell(#"cp "$S/cat.jpg" "$S/thumb.jpg" "$M/image/""#)
            #expect(copy.status == 0, "\(copy.stderr)")
            let during = try await Self.sync(mount)
            #expect(during.status == 1)
            for name in ["cat.jpg", "thumb.jpg"] {
                let line = during.stderr.split(separator: "\n").first { $0.contains("upload image/\(name): EIO (") }
                #expect(line?.contains("; tried again by itself at 20") == true, "\(during.stderr)")
            }
            let status = try await mount.status().stdout
            #expect(status.contains("upload image/cat.jpg: EIO ("), "\(status)")
            #expect(status.contains("; tried again by itself at "), "\(status)")
            #expect(!mount.exists("image/cat.jpg.media_id"))
            #expect(mount.log.contains("upload image/cat.jpg: tried again by itself at 20"), "\(mount.log)")
            let metrics = try await mount.metricsURL()
            let failing = try await Scrape.fetch(metrics)
            #expect(failing.value("wxmediafs_upload_queue_failed", ["retry": "planned"]) == 2)
            #expect(failing.value("wxmediafs_upload_queue_failed", ["retry": "none"]) == 0)

            try await mount.emulator.setFaults(#"{"rules":[]}"#)
            let after = try await Self.sync(mount)
            #expect(after.status == 0, "sync tried them again: \(after.stderr)")
            let passed = try await Scrape.fetch(metrics)
            #expect(passed.value("wxmediafs_upload_queue_failed", ["retry": "planned"]) == 0)
            #expect(passed.value("wxmediafs_upload_queue_depth") == 0)
            let token = try await mount.emulator.legacyToken()
            for name in ["cat.jpg", "thumb.jpg"] {
                #expect(
                    try await Self.serverHolds(mount, "image/" + name, bytesOf: Samples.path(name), token: token),
                    "\(name)")
            }
        }
    }

    @Test func aSigkillWithFiftyFilesQueuedLosesNone() async throws {
        let source = try Self.sourceFolder(50)
        defer { try? FileManager.default.removeItem(atPath: source) }
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let first = try await MountFixture.start(emulator: emulator, folder: folder, arguments: Self.background)
            try await emulator.setFaults(Self.delay(1000))
            let copy = try await first.shell(#"cp -r '\#(source)' "$M/image/q""#)
            #expect(copy.status == 0, "\(copy.stderr)")
            kill(first.processIdentifier, SIGKILL)
            _ = try await first.waitForExit()
            let queued = try FileManager.default.contentsOfDirectory(atPath: first.cacheDirectory + "/queue").count
            #expect(queued > 0, "files were still queued when the mount was killed (\(queued))")
            try await emulator.setFaults(#"{"rules":[]}"#)

            let second = try await MountFixture.start(emulator: emulator, folder: folder, arguments: Self.background)
            let sync = try await Self.sync(second)
            #expect(sync.status == 0, "\(sync.stderr)")
            let token = try await emulator.legacyToken()
            for index in 0..<50 {
                #expect(
                    try await Self.serverHolds(
                        second, "image/q/f\(index).jpg", bytesOf: source + "/f\(index).jpg", token: token),
                    "f\(index).jpg")
            }
            #expect(second.log.contains("resumed \(queued) queued upload(s)"), "\(second.log)")
            try await second.stop()
        }
    }

    @Test func aSidecarWaitsForItsUploadThenTellsTheIdOrTheServersErrno() async throws {
        try await MountFixture.with(arguments: Self.background) { mount in
            try await mount.emulator.setFaults(Self.delay(500))
            let good = try await mount.shell(#"cp "$S/cat.jpg" "$M/image/" && cat "$M/image/cat.jpg.media_id""#)
            #expect(good.status == 0, "\(good.stderr)")
            #expect(
                good.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Self.sidecarID(mount, "image/cat.jpg"))
            #expect(
                try await mount.shell(#"cmp "$S/cat.jpg" "$M/by-id/$(cat "$M/image/cat.jpg.media_id")""#).status == 0)

            try await mount.emulator.setFaults(#"{"rules":[{"endpoint":"upload","kind":"quota","fraction":1}]}"#)
            let refused = try await mount.shell(#"cp "$S/thumb.jpg" "$M/image/t.jpg" && cat "$M/image/t.jpg.media_id""#)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("Resource temporarily unavailable"), "EAGAIN from 45009: \(refused.stderr)")
            let listed = try await mount.shell(#"ls "$M/image"; cmp "$S/thumb.jpg" "$M/image/t.jpg""#)
            #expect(
                listed.stdout.split(separator: "\n") == ["cat.jpg", "cat.jpg.media_id", "t.jpg"], "\(listed.stdout)")
            #expect(listed.status == 0, "its local bytes are read back: \(listed.stderr)")
        }
    }

    @Test func fsyncWaitsForTheUploadAndFailsWithItsErrno() async throws {
        try await MountFixture.with(arguments: Self.background) { mount in
            try await mount.emulator.setFaults(Self.delay(300))
            let synced = try await mount.shell(
                #"dd if="$S/cat.jpg" of="$M/image/d.jpg" conv=fsync status=none && getfattr --only-values -n user.wechat.state "$M/image/d.jpg""#
            )
            #expect(synced.status == 0, "\(synced.stderr)")
            #expect(synced.stdout == "uploaded", "dd conv=fsync returned once uploaded: \(synced.stdout)")

            try await mount.emulator.setFaults(#"{"rules":[{"endpoint":"upload","kind":"quota","fraction":1}]}"#)
            let failed = try await mount.shell(
                #"dd if="$S/thumb.jpg" of="$M/image/e.jpg" conv=fsync status=none; echo "dd $?"; cp "$S/thumb.jpg" "$M/image/s.jpg" && sync "$M/image/s.jpg"; echo "sync $?""#
            )
            #expect(failed.stdout.contains("dd 1"), "\(failed.stdout) \(failed.stderr)")
            #expect(failed.stdout.contains("sync 1"), "\(failed.stdout) \(failed.stderr)")
            #expect(failed.stderr.contains("Resource temporarily unavailable"), "\(failed.stderr)")
        }
    }

    @Test func rmAndMvOfQueuedFilesAreHonoured() async throws {
        let source = try Self.sourceFolder(3)
        defer { try? FileManager.default.removeItem(atPath: source) }
        try await MountFixture.with(
            arguments: Self.background + ["--upload-concurrency", "1", "--metrics-address", "127.0.0.1:0"]
        ) { mount in
            // Held until the rules are replaced: the queue stands still while it is looked at.
            try await mount.emulator.setFaults(Self.delay(600_000))
            let script = try await mount.shell(
                #"""
                set -e
                cp '\#(source)'/f0.jpg '\#(source)'/f1.jpg '\#(source)'/f2.jpg "$M/image/"
                mkdir "$M/image/sub"
                mv "$M/image/f0.jpg" "$M/image/sub/moved.jpg"
                rm "$M/image/f1.jpg"
                """#)
            #expect(script.status == 0, "\(script.stderr)")
            let metrics = try await mount.metricsURL()
            // f0 (now sub/moved.jpg) is uploading, held; f2 waits behind it (f1 is gone).
            let depth = try await Scrape.fetch(metrics).value("wxmediafs_upload_queue_depth")
            #expect(depth == 2, "\(String(describing: depth))")
            try await mount.emulator.setFaults(#"{"rules":[]}"#)
            #expect(try await Self.sync(mount).status == 0)
            #expect(try await Scrape.fetch(metrics).value("wxmediafs_upload_queue_depth") == 0)
            let listing = try await mount.shell(#"cd "$M/image" && find . | sort"#).stdout
            #expect(
                listing.split(separator: "\n")
                    == [".", "./f2.jpg", "./f2.jpg.media_id", "./sub", "./sub/moved.jpg", "./sub/moved.jpg.media_id"],
                "\(listing)")
            let token = try await mount.emulator.legacyToken()
            #expect(try await Self.serverHolds(mount, "image/sub/moved.jpg", bytesOf: source + "/f0.jpg", token: token))
            #expect(try await Self.serverHolds(mount, "image/f2.jpg", bytesOf: source + "/f2.jpg", token: token))
            #expect(!mount.log.contains("uploaded image/f1.jpg"), "the removed file was never committed")
        }
    }

    @Test func aWriteThatWouldBreakTheFreeSpaceFloorFailsWithENOSPC() async throws {
        try await MountFixture.with(arguments: Self.background + ["--cache-min-free", "1P"]) { mount in
            let copy = try await mount.shell(#"cp "$S/cat.jpg" "$M/image/full.jpg"; echo "cp $?"; ls -A "$M/image""#)
            #expect(copy.stdout == "cp 1\n", "\(copy.stdout)")
            #expect(copy.stderr.contains("No space left on device"), "\(copy.stderr)")
        }
    }

    /// Material queues as temporary media do (issue 23): `cp` returns while the add is held by
    /// the emulator, the sidecar appears once the library has the file, and `sync` tells a
    /// refused add by name and errno.
    @Test func materialIsQueuedAndSyncTellsItsFailures() async throws {
        try await MountFixture.with(arguments: Self.background) { mount in
            let hold = #"{"rules":[{"endpoint":"add_material","kind":"delay","fraction":1,"delay_ms":3000}]}"#
            try await mount.emulator.setFaults(hold)
            let copy = try await mount.shell(#"cp "$S/cat.jpg" "$M/material/image/" && ls "$M/material/image""#)
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(copy.stdout == "cat.jpg\n", "no sidecar while the add is held: \(copy.stdout)")
            let id = try await mount.shell(#"cat "$M/material/image/cat.jpg.media_id""#)
            #expect(id.status == 0, "the sidecar waits for the add: \(id.stderr)")
            let token = try await mount.emulator.legacyToken()
            let media = id.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let fetched = try await mount.emulator.request(
                .POST, "/cgi-bin/material/get_material?access_token=\(token)",
                body: Array(#"{"media_id":"\#(media)"}"#.utf8))
            #expect(fetched.body == Samples.bytes("cat.jpg"), "the library holds the bytes")

            try await mount.emulator.setFaults(#"{"rules":[{"endpoint":"add_material","kind":"quota","fraction":1}]}"#)
            let refused = try await mount.shell(#"cp "$S/thumb.jpg" "$M/material/image/t.jpg""#)
            #expect(refused.status == 0, "queued: \(refused.stderr)")
            let sync = try await Self.sync(mount)
            #expect(sync.status == 1, "\(sync.stderr)")
            #expect(sync.stderr.contains("upload material/image/t.jpg: EAGAIN ("), "\(sync.stderr)")
            let state = try await mount.shell(#"getfattr --only-values -n user.wechat.state "$M/material/image/t.jpg""#)
            #expect(state.stdout == "failed", "\(state.stdout) \(state.stderr)")
        }
    }

    @Test func anUnmountWaitsForTheQueue() async throws {
        let source = try Self.sourceFolder(4)
        defer { try? FileManager.default.removeItem(atPath: source) }
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let first = try await MountFixture.daemonize(
                emulator: emulator, folder: folder, arguments: Self.background + ["--upload-concurrency", "1"])
            #expect(first.status == 0, "\(first.stderr)")
            try await emulator.setFaults(Self.delay(400))
            let mountpoint = folder + "/mnt"
            let copy = try await Command.run("/bin/cp", ["-r", source, mountpoint + "/image/u"])
            #expect(copy.status == 0, "\(copy.stderr)")
            let unmount = try await Command.run(Command.wxmediafsPath, ["unmount", mountpoint])
            #expect(unmount.status == 0, "\(unmount.stderr)")
            #expect(unmount.stderr.contains("waiting for"), "\(unmount.stderr)")
            #expect(try await emulator.counters()["upload", default: 0] >= 4, "every queued file was uploaded")
            let queue = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/cache/queue")) ?? ["?"]
            #expect(queue.isEmpty, "nothing left queued: \(queue)")
        }
    }

    @Test func anUnmountThatCannotWaitForAllSaysWhatItLeavesAndTheNextMountUploadsIt() async throws {
        let source = try Self.sourceFolder(3)
        defer { try? FileManager.default.removeItem(atPath: source) }
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mountpoint = folder + "/mnt"
            let arguments = Self.background + ["--upload-concurrency", "1", "--queue-drain-timeout", "1s"]
            let first = try await MountFixture.daemonize(emulator: emulator, folder: folder, arguments: arguments)
            #expect(first.status == 0, "\(first.stderr)")
            try await emulator.setFaults(Self.delay(5000))
            let copy = try await Command.run("/bin/cp", ["-r", source, mountpoint + "/image/u"])
            #expect(copy.status == 0, "\(copy.stderr)")
            let unmount = try await Command.run(Command.wxmediafsPath, ["unmount", mountpoint])
            #expect(unmount.status == 0, "\(unmount.stderr)")
            #expect(unmount.stderr.contains("3 upload(s) still queued in"), "\(unmount.stderr)")
            try await emulator.setFaults(#"{"rules":[]}"#)

            let second = try await MountFixture.daemonize(emulator: emulator, folder: folder, arguments: arguments)
            #expect(second.status == 0, "\(second.stderr)")
            let sync = try await Command.run(Command.wxmediafsPath, ["sync", mountpoint])
            #expect(sync.status == 0, "\(sync.stderr)")
            let token = try await emulator.legacyToken()
            for index in 0..<3 {
                let id = String(
                    decoding: FileManager.default.contents(atPath: mountpoint + "/image/u/f\(index).jpg.media_id")
                        ?? Data(),
                    as: UTF8.self
                ).trimmingCharacters(in: .whitespacesAndNewlines)
                let onServer = try await emulator.request(
                    .GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)")
                #expect(
                    onServer.body == Array(FileManager.default.contents(atPath: source + "/f\(index).jpg") ?? Data()),
                    "f\(index).jpg")
            }
            #expect(try await Command.run(Command.wxmediafsPath, ["unmount", mountpoint]).status == 0)
        }
    }

    @Test func syncOfASyncModeMountReturnsAtOnceAndOfAFolderSaysItIsNoMount() async throws {
        try await MountFixture.with { mount in
            #expect(try await mount.shell(#"cp "$S/cat.jpg" "$M/image/""#).status == 0)
            let sync = try await Self.sync(mount)
            #expect(sync.status == 0 && sync.stderr.isEmpty, "\(sync.stderr)")
            let status = try await mount.status().stdout
            #expect(!status.contains("Upload queue"), "a sync-mode mount with nothing queued shows no queue: \(status)")
        }
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let notMounted = try await Command.run(Command.wxmediafsPath, ["sync", folder])
        #expect(notMounted.status != 0)
        #expect(notMounted.stderr.contains("is not a running wxmediafs mount"), "\(notMounted.stderr)")
    }
}
