import EmulatorTestSupport
import Foundation
import Testing

@Suite("Mount: hostile servers, bad input, secrets")
struct RobustnessTests {
    @Test(
        "a misbehaving server ends in EIO within the bound and nothing partial is kept",
        arguments: [
            "short_length", "cut", "html", "trickle", "huge_json",
        ])
    func hostileDownloads(kind: String) async throws {
        try await MountFixture.with(arguments: ["--request-timeout", "5s"]) { m in
            let token = try await m.emulator.legacyToken()
            let upload = try await m.emulator.upload(
                Samples.bytes("cat.jpg"), filename: "c.jpg", type: "image", token: token)
            let id = try #require(upload.json["media_id"] as? String)
            #expect(try await m.shell(#"stat "$M/by-id/\#(id)" > /dev/null"#).status == 0)
            try await m.emulator.setFaults(
                #"{"rules":[{"endpoint":"get","kind":"\#(kind)","fraction":1,"delay_ms":300}]}"#)
            let started = ContinuousClock.now
            let read = try await m.shell(#"cat "$M/by-id/\#(id)" > /dev/null"#)
            #expect(read.status != 0)
            #expect(read.stderr.contains("Input/output error"), "\(read.stderr)")
            #expect(started.duration(to: .now) < .seconds(20), "bounded by the 5 s request timeout")
            let content = (try? FileManager.default.contentsOfDirectory(atPath: m.cacheDirectory + "/content")) ?? []
            #expect(content.isEmpty, "no partial or wrong file kept: \(content)")
            #expect(!FileManager.default.fileExists(atPath: "/tmp/wxmediafs-evil"))
            try await m.emulator.setFaults(#"{"rules":[]}"#)
            // The server may still be finishing the broken answer (a trickle): try for a while.
            let again = await eventually { m.contents("by-id/\(id)") == Samples.bytes("cat.jpg") }
            #expect(again, "fine again once the server is")
        }
    }

    @Test func limitsAreExactAndBrokenMediaAreRefused() async throws {
        try await MountFixture.with { m in
            let atLimit = try Samples.write(Samples.jpeg(size: 64 * 1024), named: "at.jpg")
            let overLimit = try Samples.write(Samples.jpeg(size: 64 * 1024 + 1), named: "over.jpg")
            let sixty = try Samples.write(Samples.amr(frames: 3000), named: "60s.amr")
            let longer = try Samples.write(Samples.amr(frames: 3005), named: "60.1s.amr")
            let cutMP4 = try Samples.write(Array(Samples.bytes("clip.mp4").prefix(4000)), named: "cut.mp4")
            let cutAMR = try Samples.write(Array(Samples.amr(frames: 10).dropLast(7)), named: "cut.amr")
            let pngAsJPEG = try Samples.write(Samples.bytes("cat.png"), named: "fake.jpg")
            let result = try await m.shell(
                #"""
                cp '\#(atLimit)' "$M/thumb/" && echo at-ok
                cp '\#(overLimit)' "$M/thumb/" 2>&1
                cp '\#(sixty)' "$M/voice/" && echo sixty-ok
                cp '\#(longer)' "$M/voice/" 2>&1
                cp '\#(cutMP4)' "$M/video/" 2>&1
                cp '\#(cutAMR)' "$M/voice/" 2>&1
                cp '\#(pngAsJPEG)' "$M/image/" 2>&1
                cp "$S/cat.jpg" "$M/voice/cat.mp3" 2>&1
                cp "$S/cat.jpg" "$M/image/photo.png" && echo misnamed-ok
                ls -A "$M/thumb" "$M/voice" "$M/video" "$M/image"
                """#)
            #expect(result.stdout.contains("at-ok") && result.stdout.contains("sixty-ok"))
            #expect(result.stdout.contains("misnamed-ok"), "a JPEG named .png is still a JPEG: the name is the user's")
            #expect(result.stdout.contains("over.jpg': File too large"))
            #expect(result.stdout.components(separatedBy: "Invalid argument").count == 6, "\(result.stdout)")
            for name in ["over.jpg", "60.1s.amr", "cut.mp4", "cut.amr", "fake.jpg", "cat.mp3"] {
                #expect(!result.stdout.contains(name + "\n"), "\(name) left an entry")
            }
        }
    }

    @Test func hugeOffsetsDirectIOMmapAndManyOpenFilesBehave() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                dd if=/dev/zero of="$M/image/far.jpg" bs=1 count=1 seek=10G 2>&1 | grep -o 'File too large'
                truncate -s 10G "$M/image/big.jpg" 2>&1 | grep -o 'File too large'
                test ! -e "$M/image/far.jpg.media_id" && echo no-far-sidecar
                cp "$S/cat.jpg" "$M/image/cat.jpg"
                dd if="$M/image/cat.jpg" iflag=direct bs=4096 2>/dev/null | cmp - "$S/cat.jpg" && echo direct-read-ok
                dd if="$S/thumb.jpg" of="$M/thumb/d.jpg" oflag=direct bs=4096 2>/dev/null; cmp "$S/thumb.jpg" "$M/thumb/d.jpg" && echo direct-write-ok
                python3 - "$M/image/cat.jpg" "$S/cat.jpg" <<'PY'
                import mmap, sys
                with open(sys.argv[1], "rb") as f, open(sys.argv[2], "rb") as g:
                    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                    print("mmap-ok" if m[:] == g.read() else "mmap-differs")
                PY
                python3 - "$M/voice" <<'PY'
                import os, sys
                files = [open(os.path.join(sys.argv[1], "open-%d.mp3" % i), "wb") for i in range(1000)]
                for f in files: f.close()
                print("open-1000-ok", len([n for n in os.listdir(sys.argv[1]) if n.startswith("open-")]))
                PY
                """#)
            for marker in [
                "File too large\nFile too large", "no-far-sidecar", "direct-read-ok", "direct-write-ok", "mmap-ok",
                "open-1000-ok 1000",
            ] {
                #expect(result.stdout.contains(marker), "\(marker): \(result.stdout) \(result.stderr)")
            }
        }
    }

    @Test func oddNamesWorkAndOddIdsAreRefusedBeforeAnyRequest() async throws {
        try await MountFixture.with { m in
            let deep = (1...30).map { "d\($0)" }.joined(separator: "/")
            let names = try await m.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/new"$'\n'"line.jpg"
                mkdir -p "$M/image/\#(deep)" && cp "$S/cat.jpg" "$M/image/\#(deep)/deep.jpg"
                test -s "$M/image/\#(deep)/deep.jpg.media_id"
                ls "$M/image" | wc -l
                """#)
            #expect(names.status == 0, "\(names.stderr)")
            let before = try await m.emulator.counters()
            let long = String(repeating: "a", count: 10_000)
            let odd = try await m.shell(
                #"""
                for id in 'a&b' '100%' 'what?' 'with space' '..x' '\#(long)'; do cat "$M/by-id/$id" 2>&1; done
                cat "$M/by-id/../image" 2>&1
                """#)
            #expect(odd.stdout.components(separatedBy: "No such file or directory").count >= 6, "\(odd.stdout)")
            #expect(try await m.emulator.counters() == before, "no request for ids that cannot be ids")
        }
    }

    @Test func theSecretStaysInItsFile() async throws {
        try await MountFixture.with { m in
            let copy = try await m.shell(#"cp "$S/cat.jpg" "$M/image/" && cat /proc/mounts | grep " $M ""#)
            #expect(copy.status == 0)
            #expect(!copy.stdout.contains("allow_other"), "the mount is the user's unless asked")
            let secret = EmulatorFixture.secret.value
            let leaks = try await m.shell(
                #"grep -rl '\#(secret)' "$M/../cache" '\#(m.logPath)'; tr '\0' ' ' < /proc/\#(m.processIdentifier)/cmdline | grep -c '\#(secret)'"#
            )
            #expect(leaks.stdout == "0\n", "the secret appeared in: \(leaks.stdout)")
        }
    }
}
