import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Status socket, logs, help and completions")
struct StatusAndLogsTests {
    func status(_ m: MountFixture, json: Bool = false) async throws -> CommandResult {
        try await Command.run(Command.wxmediafsPath, ["status", m.mountpoint] + (json ? ["--json"] : []))
    }

    /// Polls `wxmediafs status` until its text contains `text`, for at most 20 s; the last answer.
    func status(_ m: MountFixture, once text: String) async throws -> String {
        var seen = ""
        _ = try await eventually {
            seen = try await status(m).stdout
            return seen.contains(text)
        }
        return seen
    }

    /// An upload the server holds up (a 3 s delay before it reads the body) is shown in flight
    /// with its progress, then gone; the token is never shown, only its age.
    @Test func statusShowsALargeUploadInFlightWithProgress() async throws {
        try await MountFixture.with { m in
            try await m.emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":3000}]}"#)
            let clip = try Samples.write(Samples.mp4(size: 8 << 20), named: "big.mp4")
            let copy = Process()
            copy.executableURL = URL(fileURLWithPath: "/bin/cp")
            copy.arguments = [clip, m.path("video/big.mp4")]
            try copy.run()
            let seen = try await status(m, once: "upload  video/big.mp4  [")
            #expect(seen.contains("Transfers in flight:"), "\(seen)")
            #expect(seen.contains("upload  video/big.mp4  ["), "\(seen)")
            #expect(seen.contains("% "), "a percentage: \(seen)")
            #expect(seen.contains("of 8.0 MiB"), "\(seen)")
            _ = await eventually(within: .seconds(30)) { !copy.isRunning }
            #expect(copy.terminationStatus == 0)

            let after = try await status(m)
            #expect(after.status == 0, "\(after.stderr)")
            #expect(after.stdout.contains("Transfers: none in flight"), "\(after.stdout)")
            #expect(after.stdout.contains("upload 1"), "\(after.stdout)")
            #expect(after.stdout.contains("Access token: ") && after.stdout.contains(" old"))
            #expect(after.stdout.contains("Cache: 8.0 MiB of 1.0 GiB"), "\(after.stdout)")
            // The stable token endpoint hands out the token the mount is using.
            let stable = try await m.emulator.request(
                .POST, "/cgi-bin/stable_token",
                body: Array(
                    #"{"grant_type":"client_credential","appid":"\#(EmulatorFixture.appID)","secret":"\#(EmulatorFixture.secret.value)"}"#
                        .utf8))
            let token = try #require(stable.json["access_token"] as? String)
            let json = try await status(m, json: true).stdout
            #expect(json.contains("\"tokenAgeSeconds\""))
            #expect(!json.contains("access_token") && !json.contains(EmulatorFixture.secret.value))
            #expect(!json.contains(token) && !after.stdout.contains(token), "the token itself is never shown")
        }
    }

    /// A download the server trickles (a byte every 4 ms: 6 s for the thumb, room for a slow
    /// `status` on a loaded machine) is shown in flight with its progress.
    @Test func statusShowsADownloadInFlight() async throws {
        try await MountFixture.with { m in
            let token = try await m.emulator.legacyToken()
            let upload = try await m.emulator.upload(
                Samples.bytes("thumb.jpg"), filename: "t.jpg", type: "thumb", token: token)
            let id = try #require((upload.json["thumb_media_id"] ?? upload.json["media_id"]) as? String)
            try await m.emulator.setFaults(
                #"{"rules":[{"endpoint":"get","kind":"trickle","fraction":1,"delay_ms":4}]}"#)
            let read = Task { try await m.shell(#"cmp "$S/thumb.jpg" "$M/by-id/\#(id)" && echo same"#) }
            let seen = try await status(m, once: "download  by-id/\(id)  [")
            #expect(seen.contains("download  by-id/\(id)  ["), "\(seen)")
            #expect(seen.contains(" of 1.5 KiB"), "\(seen)")
            #expect(try await read.value.stdout == "same\n")
            #expect(try await status(m).stdout.contains("Transfers: none in flight"))
        }
    }

    @Test func statusListsRecentFailuresWithErrnoErrcodeAndErrmsg() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(#"cp "$S/cat.png" "$M/image/cat.png"; echo "cp: $?""#)
            #expect(result.stdout.contains("cp: 1"))
            let report = try await status(m).stdout
            #expect(report.contains("upload image/cat.png: EINVAL (errcode 40005"), "\(report)")
            let json = try await status(m, json: true).stdout
            #expect(json.contains(#""errcode":40005"#) && json.contains(#""errno":"EINVAL""#), "\(json)")
        }
    }

    @Test func theStatusSocketIsTheUsersAloneAndAMissingMountIsAClearError() async throws {
        try await MountFixture.with { m in
            var info = stat()
            #expect(stat(m.cacheDirectory + "/status.sock", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
        }
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try await Command.run(Command.wxmediafsPath, ["status", folder])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is not a running wxmediafs mount"), "\(result.stderr)")
    }

    @Test func everyUploadAndFailureIsOneLogLine() async throws {
        try await MountFixture.with { m in
            _ = try await m.shell(
                #"cp "$S/cat.jpg" "$M/image/cat.jpg"; cp "$S/cat.png" "$M/image/cat.png"; cp "$S/cat.png" "$M/image/two"$'\n'"lines.png""#
            )
            let id = String(decoding: m.contents("image/cat.jpg.media_id") ?? [], as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let lines = m.log.split(separator: "\n")
            let uploaded = lines.first { $0.contains("uploaded image/cat.jpg:") } ?? ""
            #expect(uploaded.contains("image, 9059 bytes, media_id \(id), "), "\(uploaded)")
            #expect(uploaded.hasSuffix(" ms"))
            let failed = lines.first { $0.contains("upload image/cat.png: ") } ?? ""
            #expect(failed.contains(": EINVAL (errcode 40005, "), "\(failed)")
            // A newline in a name is written as \n: it cannot start a line of its own.
            #expect(lines.contains { $0.contains(#"upload image/two\nlines.png: EINVAL"#) }, "\(m.log)")
            #expect(!lines.contains { $0.hasPrefix("lines.png") })
        }
    }

    /// The daemon writes its own log file and rotates it: NAME.1, NAME.2, … NAME.3 at most.
    @Test func theDaemonsLogFileIsRotated() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mountpoint = folder + "/mnt"
            let mounted = try await MountFixture.daemonize(
                emulator: emulator, folder: folder, arguments: ["--log-level", "debug", "--log-file-max-size", "1K"])
            #expect(mounted.status == 0, "\(mounted.stderr)")
            let result = try await Command.run(
                "/bin/bash",
                [
                    "-c",
                    "for i in $(seq 40); do cp '\(Samples.path("cat.jpg"))' '\(mountpoint)'/image/c$i.jpg || exit 1; done",
                ])
            #expect(result.status == 0, "\(result.stderr)")
            let unmounted = try await Command.run(Command.wxmediafsPath, ["unmount", mountpoint])
            #expect(unmounted.status == 0, "\(unmounted.stderr)")
            let log = folder + "/cache/wxmediafs.log"
            let files = try FileManager.default.contentsOfDirectory(atPath: folder + "/cache").filter {
                $0.hasPrefix("wxmediafs.log")
            }
            #expect(
                Set(files) == ["wxmediafs.log", "wxmediafs.log.1", "wxmediafs.log.2", "wxmediafs.log.3"], "\(files)")
            for file in files {
                let size =
                    (try? FileManager.default.attributesOfItem(atPath: folder + "/cache/" + file)[.size] as? Int) ?? 0
                #expect(size <= 1024 + 512, "\(file) is \(size) bytes")
            }
            let recent = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(recent.contains("unmounted \(mountpoint)"), "the newest lines are in the current file")
        }
    }

    /// Under systemd, stderr is the journal's stream ($JOURNAL_STREAM names it): each line then
    /// starts with its syslog priority, which journald reads as the entry's level.
    @Test func underSystemdLinesCarryTheirJournalPriority() async throws {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        let script = #"""
            exec 2>"$1/stderr"
            export JOURNAL_STREAM=$(stat -c '%d:%i' "$1/stderr")
            mkdir -p "$1/mnt"
            "$2" mount "$1/mnt" --emulator --foreground --cache-dir "$1/cache" >/dev/null &
            pid=$!
            for i in $(seq 600); do grep -q "mounted" "$1/stderr" && break; sleep 0.05; done
            "$2" unmount "$1/mnt" 2>/dev/null
            wait $pid
            """#
        let result = try await Command.run("/bin/bash", ["-c", script, "journal", folder, Command.wxmediafsPath])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = ((try? String(contentsOfFile: folder + "/stderr", encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<6>wxmediafs: ") && $0.contains("mounted \(folder)/mnt") }, "\(lines)")
        #expect(lines.allSatisfy { $0.hasPrefix("<") }, "every line has a priority: \(lines)")
    }

    @Test func helpIsCompleteAndCompletionsAreGenerated() async throws {
        let top = try await Command.run(Command.wxmediafsPath, ["--help"])
        for command in ["mount", "unmount", "status", "emulator"] {
            #expect(top.stdout.contains("  \(command) "), "\(command) in \(top.stdout)")
            let help = try await Command.run(Command.wxmediafsPath, ["help", command])
            #expect(help.status == 0)
            #expect(help.stdout.contains("USAGE: wxmediafs \(command)"), "\(help.stdout)")
        }
        let mount = try await Command.run(Command.wxmediafsPath, ["help", "mount"])
        for option in ["--secret-file", "--cache-max-size", "--media-ttl", "--foreground", "--log-level", "status"] {
            #expect(mount.stdout.contains(option), "\(option) in mount's help")
        }
        #expect(!mount.stdout.contains("--log-file"), "internal options stay hidden")
        for shell in ["bash", "zsh", "fish"] {
            let script = try await Command.run(Command.wxmediafsPath, ["--generate-completion-script", shell])
            #expect(script.status == 0)
            #expect(script.stdout.contains("status") && script.stdout.contains("secret-file"), "\(shell)")
        }
    }
}
