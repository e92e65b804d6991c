import EmulatorTestSupport
import Foundation
import Testing
import WeChatMedia

/// `/material/` through a real mount and the tools people use (issue 23): cp in and out of
/// every folder, a fresh mount with an empty cache dir, ls of what the server holds, getfattr,
/// rm refused without --allow-delete and deleting with it.
@Suite("Permanent material through a mount")
struct MaterialMountTests {
    @Test func eachTypeRoundTripsThroughCpAndReadsOnAFreshMount() async throws {
        try await EmulatorFixture.with { emulator in
            let first = try TemporaryDirectory.make()
            let second = try TemporaryDirectory.make()
            defer {
                MountFixture.cleanUp(folder: first)
                MountFixture.cleanUp(folder: second)
            }
            let mount = try await MountFixture.start(emulator: emulator, folder: first)
            let copied = try await mount.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/material/image/猫 cat.jpg"
                cp "$S/hello.mp3" "$M/material/voice/"
                cp "$S/clip.mp4" "$M/material/video/"
                cp "$S/thumb.jpg" "$M/material/thumb/"
                cp "$S/cat.png" "$M/material/article-images/"
                ls "$M/material"
                ls "$M/material/image" "$M/material/article-images"
                getfattr --only-values -n user.wechat.media_id "$M/material/image/猫 cat.jpg"; echo
                cat "$M/material/image/猫 cat.jpg.media_id"
                getfattr --only-values -n user.wechat.limit "$M/material/image"; echo
                head -c 7 "$M/material/article-images/cat.png.url"; echo
                cmp "$S/clip.mp4" "$M/material/video/clip.mp4"
                rm "$M/material/image/猫 cat.jpg" 2>&1 || echo "rm refused"
                rmdir "$M/material/image" 2>&1 || echo "rmdir refused"
                mv "$M/material/thumb/thumb.jpg" "$M/material/thumb/cover.jpg"
                ls "$M/material/thumb"
                """#)
            #expect(copied.status == 0, "\(copied.stderr)")
            let lines = copied.stdout.split(separator: "\n").map(String.init)
            #expect(lines.prefix(5) == ["article-images", "image", "thumb", "video", "voice"], "\(lines)")
            #expect(lines.contains("猫 cat.jpg.media_id") && lines.contains("cat.png.url"), "\(lines)")
            let mediaID = lines.first { $0.count > 20 && !$0.contains(" ") && !$0.contains(":") } ?? ""
            #expect(lines.filter { $0 == mediaID }.count == 2, "xattr and sidecar agree: \(lines)")
            #expect(lines.contains("100000"))
            #expect(lines.contains("http://"))
            #expect(copied.stdout.contains("Operation not permitted") && copied.stdout.contains("rm refused"))
            #expect(copied.stdout.contains("rmdir refused"))
            #expect(lines.suffix(2) == ["cover.jpg", "cover.jpg.media_id"], "\(lines)")
            #expect(mount.exists("material/image/猫 cat.jpg"))
            // Thumbs count with images.
            let status = try await mount.status()
            #expect(
                status.stdout.contains("Material library: image 2 of 100000, voice 1 of 1000, video 1 of 1000"),
                "\(status.stdout)")
            try await mount.stop()

            // Another cache dir: nothing cached, no catalog; the listing names what the server holds.
            let fresh = try await MountFixture.start(emulator: emulator, folder: second)
            let read = try await fresh.shell(
                #"""
                set -e
                mkdir -p "$T"
                ls "$M/material/image" "$M/material/voice" "$M/material/video"
                cp "$M/material/image/猫 cat.jpg" "$M/material/voice/hello.mp3" "$M/material/video/clip.mp4" "$T/"
                cmp "$S/cat.jpg" "$T/猫 cat.jpg"
                cmp "$S/hello.mp3" "$T/hello.mp3"
                cmp "$S/clip.mp4" "$T/clip.mp4"
                stat -c %s "$M/material/image/猫 cat.jpg"
                """#.replacingOccurrences(of: "$T", with: second + "/out"))
            try await fresh.stop()
            #expect(read.status == 0, "\(read.stderr)\n\(read.stdout)")
            #expect(read.stdout.hasSuffix("9059\n"), "\(read.stdout)")
        }
    }

    @Test func rmWithAllowDeleteDeletesFromTheAccount() async throws {
        try await MountFixture.with(arguments: ["--allow-delete"]) { mount in
            let result = try await mount.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/material/image/a.jpg"
                cat "$M/material/image/a.jpg.media_id"
                rm "$M/material/image/a.jpg"
                test ! -e "$M/material/image/a.jpg"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            let mediaID = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let directory = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let error = await #expect(throws: APIError.self) {
                _ = try await mount.emulator.makeClient().getMaterial(mediaID: mediaID, to: directory + "/x")
            }
            #expect(error?.code == .invalidMediaID)
        }
    }
}
