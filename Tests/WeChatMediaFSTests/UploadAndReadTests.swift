import EmulatorTestSupport
import Foundation
import Testing

@Suite("Mount: cp uploads, the sidecar appears, reads come back")
struct UploadAndReadTests {
    @Test func aNewUserCopiesAJPEGReadsItsIdAndReadsItBack() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"cp "$S/cat.jpg" "$M/image/" && ls "$M/image" && cat "$M/image/cat.jpg.media_id""#)
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.prefix(2) == ["cat.jpg", "cat.jpg.media_id"])
            let id = try #require(lines.last)
            #expect(id.count == 64)
            #expect(m.contents("image/cat.jpg.media_id") == Array((id + "\n").utf8))
            #expect(m.contents("by-id/\(id)") == Samples.bytes("cat.jpg"))
            #expect(m.contents("image/cat.jpg") == Samples.bytes("cat.jpg"))
            #expect(m.log.contains("uploaded image/cat.jpg: image, 9059 bytes, media_id \(id)"))
            // The server has exactly these bytes under that id.
            let token = try await m.emulator.legacyToken()
            let fromServer = try await m.emulator.request(
                .GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)")
            #expect(fromServer.body == Samples.bytes("cat.jpg"))
        }
    }

    @Test func eachTypeUploadsAndListsWithSizesAndModes() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/a.jpg"; cp "$S/hello.mp3" "$M/voice/"; cp "$S/hello.amr" "$M/voice/"
                cp "$S/clip.mp4" "$M/video/"; cp "$S/thumb.jpg" "$M/thumb/"
                chmod 640 "$M/image/a.jpg"
                stat -c '%n %s %a %F' "$M/image/a.jpg" "$M/image/a.jpg.media_id" "$M/voice/hello.mp3" "$M/video/clip.mp4" "$M/thumb/thumb.jpg" "$M/image"
                ls -l "$M/voice" | wc -l
                cmp "$S/clip.mp4" "$M/video/clip.mp4"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            let m0 = m.mountpoint
            #expect(result.stdout.contains("\(m0)/image/a.jpg 9059 640 regular file"))
            #expect(result.stdout.contains("\(m0)/image/a.jpg.media_id 65 444 regular file"))
            #expect(result.stdout.contains("\(m0)/voice/hello.mp3 20529 "))
            #expect(result.stdout.contains("\(m0)/video/clip.mp4 7685 "))
            #expect(result.stdout.contains("\(m0)/image 4096 755 directory"))
            #expect(result.stdout.contains("\n5\n"), "total line + 2 files + 2 sidecars in voice/")
        }
    }

    @Test func manyFilesAndEightParallelCopiesAllUpload() async throws {
        try await MountFixture.with { m in
            let source = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: source) }
            let result = try await m.shell(
                #"""
                set -e
                for i in $(seq 1 12); do cp "$S/cat.jpg" '\#(source)'/f$i.jpg; done
                cp '\#(source)'/*.jpg "$M/image/"
                for i in $(seq 1 8); do cp "$S/thumb.jpg" "$M/thumb/p$i.jpg" & done
                wait
                cat "$M"/image/*.media_id "$M"/thumb/*.media_id | sort -u | wc -l
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "20", "20 distinct ids")
            #expect(try await m.emulator.counters()["upload"] == 20)
        }
    }

    @Test func refusedFilesMakeCpFailAndLeaveNothingBehind() async throws {
        try await MountFixture.with { m in
            let big = try Samples.write(Samples.jpeg(size: 1024 * 1024 + 1), named: "big.jpg")
            let oversized = try await m.shell(#"cp '\#(big)' "$M/image/big.jpg""#)
            #expect(oversized.status != 0)
            #expect(oversized.stderr.contains("File too large"), "\(oversized.stderr)")
            let png = try await m.shell(#"cp "$S/cat.png" "$M/image/cat.png""#)
            #expect(png.status != 0)
            #expect(png.stderr.contains("Invalid argument"), "\(png.stderr)")
            let long = try await m.shell(#"cp "$S/long70s.amr" "$M/voice/""#)
            #expect(long.status != 0)
            let listing = try await m.shell(#"ls -A "$M/image" "$M/voice""#)
            #expect(
                !listing.stdout.contains("big.jpg") && !listing.stdout.contains("cat.png")
                    && !listing.stdout.contains("long70s"))
            #expect(m.log.contains("upload image/cat.png: EINVAL (errcode 40005, refused before upload"))
            #expect(try await m.emulator.counters()["upload", default: 0] == 0, "refused locally, before any request")
        }
    }

    @Test func theServersRefusalIsTheErrnoOfClose() async throws {
        // The mount believes the current limits, the server the seed's: the server refuses.
        try await MountFixture.with(limits: .seed, arguments: ["--limits", "current"]) { m in
            let png = try await m.shell(#"cp "$S/cat.png" "$M/image/cat.png""#)
            #expect(png.status != 0)
            #expect(png.stderr.contains("Invalid argument"), "\(png.stderr)")
            #expect(m.log.contains("upload image/cat.png: EINVAL (errcode 40005, "))
            #expect(!m.exists("image/cat.png"))
            let big = try Samples.write(Samples.jpeg(size: 2 * 1024 * 1024), named: "big.jpg")
            let oversized = try await m.shell(#"cp '\#(big)' "$M/image/""#)
            #expect(oversized.stderr.contains("File too large"), "\(oversized.stderr)")
            #expect(!m.exists("image/big.jpg") && !m.exists("image/big.jpg.media_id"))
        }
    }

    @Test func anIdUploadedElsewhereReadsBackAndUnknownIdsAreNotFound() async throws {
        try await MountFixture.with { m in
            let token = try await m.emulator.legacyToken()
            let upload = try await Command.curl([
                "-F", "media=@\(Samples.path("hello.amr"))",
                "\(m.emulator.baseURL)/cgi-bin/media/upload?access_token=\(token)&type=voice",
            ])
            let json = try JSONSerialization.jsonObject(with: Data(upload.stdout.utf8)) as? [String: Any]
            let id = try #require(json?["media_id"] as? String)
            #expect(try await m.emulator.counters()["get", default: 0] == 0)
            let read = try await m.shell(#"cmp "$S/hello.amr" "$M/by-id/\#(id)" && ls "$M/by-id""#)
            #expect(read.status == 0, "\(read.stderr)")
            #expect(read.stdout.contains(id))
            let unknown = try await m.shell(#"cat "$M/by-id/AAAAnotAnId""#)
            #expect(unknown.stderr.contains("No such file or directory"))
            let weird = try await m.shell(#"cat "$M/by-id/a&b%3F" ; stat "$M/by-id/..x""#)
            #expect(weird.status != 0)
            let write = try await m.shell(#"cp "$S/cat.jpg" "$M/by-id/new""#)
            #expect(write.status != 0)
            #expect(write.stderr.contains("Permission denied"), "\(write.stderr)")
        }
    }

    @Test func xattrsDescribeTheUpload() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"cp "$S/thumb.jpg" "$M/thumb/t.jpg" && getfattr -d --absolute-names "$M/thumb/t.jpg" && cat "$M/thumb/t.jpg.media_id""#
            )
            #expect(result.status == 0, "\(result.stderr)")
            let id = try #require(result.stdout.split(separator: "\n").last.map(String.init))
            #expect(result.stdout.contains("user.wechat.media_id=\"\(id)\""))
            #expect(result.stdout.contains("user.wechat.type=\"thumb\""))
            #expect(result.stdout.contains("user.wechat.created_at=\"20"))
            #expect(result.stdout.contains("user.wechat.expires_at=\"20"))
        }
    }
}
