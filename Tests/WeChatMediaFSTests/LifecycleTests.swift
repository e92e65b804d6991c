import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Mount: start, stop, crashes, daemon mode, video, large folders")
struct LifecycleTests {
    @Test func sigtermUnmountsAndExitsZero() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mount = try await MountFixture.start(emulator: emulator, folder: folder)
            let copy = try await mount.shell(#"cp "$S/cat.jpg" "$M/image/""#)
            #expect(copy.status == 0)
            kill(mount.processIdentifier, SIGTERM)
            #expect(try await mount.waitForExit() == 0)
            #expect(!MountFixture.isMounted(mount.mountpoint))
            #expect(mount.log.contains("unmounted"))
            try await mount.stop()
        }
    }

    @Test func sigtermLetsAnUploadInFlightFinish() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mount = try await MountFixture.start(emulator: emulator, folder: folder)
            try await emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":1500}]}"#)
            let copy = Task { try await mount.shell(#"cp "$S/cat.jpg" "$M/image/slow.jpg""#) }
            // Once the upload has reached the server, ask the daemon to stop.
            _ = try await eventually { try await emulator.counters()["upload", default: 0] > 0 }
            kill(mount.processIdentifier, SIGTERM)
            let result = try await copy.value
            #expect(result.status == 0, "the cp in flight completes: \(result.stderr)")
            #expect(try await mount.waitForExit() == 0)
            #expect(mount.log.contains("uploaded image/slow.jpg"))
            try await mount.stop()
        }
    }

    @Test func aMountLeftDeadByACrashIsCleanedUpAndTheCatalogSurvives() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let first = try await MountFixture.start(emulator: emulator, folder: folder)
            let copy = try await first.shell(#"cp "$S/cat.jpg" "$M/image/" && cat "$M/image/cat.jpg.media_id""#)
            let id = copy.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            kill(first.processIdentifier, SIGKILL)
            _ = try await first.waitForExit()
            let dead = try await first.shell(#"ls "$M" 2>&1"#)
            #expect(dead.stdout.contains("Transport endpoint is not connected"), "\(dead.stdout)")

            let second = try await MountFixture.start(emulator: emulator, folder: folder)
            let after = try await second.shell(
                #"cat "$M/image/cat.jpg.media_id" && cmp "$S/cat.jpg" "$M/image/cat.jpg""#)
            #expect(after.status == 0, "\(after.stderr)")
            #expect(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)

            // A second mount on a live one is refused with a clear reason.
            let again = try await Command.run(
                Command.wxmediafsPath,
                [
                    "mount", second.mountpoint, "--foreground", "--appid", "x", "--secret-file", folder + "/secret",
                    "--api-base", emulator.baseURL, "--cache-dir", folder + "/cache2",
                ])
            #expect(again.status != 0)
            #expect(again.stderr.contains("already mounted"), "\(again.stderr)")
            try await second.stop()
        }
    }

    @Test func unmountWhileAFileIsOpenIsRefusedClearlyAndLazyDetaches() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                cp "$S/cat.jpg" "$M/image/cat.jpg"
                exec 3< "$M/image/cat.jpg"
                '\#(Command.wxmediafsPath)' unmount "$M"; echo "busy: $?"
                '\#(Command.wxmediafsPath)' unmount --lazy "$M"; echo "lazy: $?"
                head -c 4 <&3 | od -An -tx1
                exec 3<&-
                """#)
            #expect(result.stdout.contains("busy: 1"), "\(result.stdout)")
            #expect(result.stderr.contains("it is busy") && !result.stderr.contains("Usage"), "\(result.stderr)")
            #expect(result.stdout.contains("lazy: 0"))
            #expect(result.stdout.contains("ff d8 ff e0"), "the open file still reads after a lazy unmount")
            #expect(try await m.waitForExit() == 0, "the daemon exits once the last file is closed")
        }
    }

    @Test func theDaemonModeReturnsWhenReadyAndUnmountStopsIt() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mountpoint = folder + "/mnt"
            let mount = try await MountFixture.daemonize(emulator: emulator, folder: folder)
            #expect(mount.status == 0, "\(mount.stderr)")
            #expect(mount.stdout.contains("wxmediafs: mounted \(mountpoint)"))
            #expect(MountFixture.isMounted(mountpoint))
            // The pid printed is the daemon's own.
            let printed = mount.stdout.split(separator: "daemon pid ").last.map { String($0.prefix { $0.isNumber }) }
            let pid = try #require(printed.flatMap { Int32($0) }, "\(mount.stdout)")
            let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            #expect(command.contains("wxmediafs") && command.contains(mountpoint), "pid \(pid): \(command)")
            let copy = try await Command.run("/bin/cp", [Samples.path("thumb.jpg"), mountpoint + "/thumb/"])
            #expect(copy.status == 0)

            // A second mount on it is refused at once, without a line of the running mount's log,
            // and writes nothing into that log.
            let logPath = folder + "/cache/wxmediafs.log"
            let logBefore = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            let twice = try await MountFixture.daemonize(emulator: emulator, folder: folder)
            #expect(twice.status != 0)
            #expect(twice.stderr.contains("already mounted"), "\(twice.stderr)")
            #expect(!twice.stderr.contains("uploaded thumb/") && !twice.stdout.contains("uploaded"), "\(twice.stderr)")
            #expect(((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "") == logBefore)

            // unmount returns once the daemon has exited.
            let unmount = try await Command.run(Command.wxmediafsPath, ["unmount", mountpoint])
            #expect(unmount.status == 0, "\(unmount.stderr)")
            #expect(!MountFixture.isMounted(mountpoint))
            // Gone, or a zombie its new parent has not reaped yet: it has exited either way.
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?
                .split(separator: ")").last?.split(separator: " ").first
            #expect(state == nil || state == "Z", "the daemon has exited when unmount returns: \(state ?? "")")
            let log = (try? String(contentsOfFile: folder + "/cache/wxmediafs.log", encoding: .utf8)) ?? ""
            #expect(log.contains("uploaded thumb/thumb.jpg"))
            #expect(!log.contains(EmulatorFixture.secret.value), "the secret is never logged")
            // A bad secret fails the mount with the reason once it is used; a missing one at once.
            let noSecret = try await Command.run(
                Command.wxmediafsPath, ["mount", mountpoint, "--appid", "x", "--api-base", emulator.baseURL])
            #expect(noSecret.status != 0)
            #expect(
                noSecret.stderr.contains("no app secret") || noSecret.stdout.contains("no app secret"),
                "\(noSecret.stderr)")
            let insecure = try await Command.run(
                Command.wxmediafsPath, ["mount", mountpoint, "--appid", "x", "--api-base", "http://example.com"])
            #expect(insecure.status != 0)
            #expect(insecure.stderr.contains("refusing plain http"))
        }
    }

    @Test func aCacheDirThatCannotBeUsedIsNamedWithItsReason() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let file = folder + "/a-file"
            _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
            let onFile = try await MountFixture.daemonize(
                emulator: emulator, folder: folder, arguments: ["--cache-dir", file])
            #expect(onFile.status != 0)
            #expect(onFile.stderr.contains("cache dir \(file): not a directory"), "\(onFile.stderr)")
            #expect(!onFile.stderr.contains("NSCocoaErrorDomain"))
            // A read-only file system (a tmpfs mounted ro, always unmounted again).
            let readOnly = folder + "/ro"
            let result = try await Command.run(
                "/bin/sh",
                [
                    "-c",
                    #"mkdir -p "$1" && mount -t tmpfs -o ro,size=1m tmpfs "$1" && trap 'umount "$1"' EXIT && "$2" mount "$3" --appid "$4" --secret-file "$5" --api-base "$6" --cache-dir "$1/cache""#,
                    "sh", readOnly, Command.wxmediafsPath, folder + "/mnt", EmulatorFixture.appID, folder + "/secret",
                    emulator.baseURL,
                ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("cache dir \(readOnly)/cache: Read-only file system"), "\(result.stderr)")
            #expect(!MountFixture.isMounted(readOnly))
        }
    }

    @Test func videoIsReadFromTheLocalCopyAndOtherwiseRefusedUnderTheSeed() async throws {
        try await MountFixture.with { m in
            let local = try await m.shell(#"cp "$S/clip.mp4" "$M/video/" && cmp "$S/clip.mp4" "$M/video/clip.mp4""#)
            #expect(local.status == 0, "\(local.stderr)")
            let token = try await m.emulator.legacyToken()
            let upload = try await m.emulator.upload(
                Samples.bytes("clip.mp4"), filename: "v.mp4", type: "video", token: token)
            let id = try #require(upload.json["media_id"] as? String)
            let read = try await m.shell(#"cat "$M/by-id/\#(id)" > /dev/null"#)
            #expect(read.status != 0)
            #expect(read.stderr.contains("Operation not supported"), "\(read.stderr)")
            #expect(m.log.contains("download by-id/\(id): ENOTSUP (errcode 40004, cannot read video"), "\(m.log)")
        }
    }

    @Test func largeFoldersListCompletelyWithStableOffsets() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                set -e
                mkdir "$M/voice/many"
                for i in $(seq 1 700); do : > "$M/voice/many/f$i.amr"; done
                ls "$M/voice/many" | wc -l
                ls -l "$M/voice/many" | tail -n +2 | wc -l
                rm "$M/voice/many/f1.amr" "$M/voice/many/f350.amr"
                ls "$M/voice/many" | sort | uniq | wc -l
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "700\n700\n698\n")
        }
    }
}
