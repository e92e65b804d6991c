import EmulatorTestSupport
import Foundation
import Testing

/// FUSE sends a flush on every close of every copy of a descriptor; only the opener's close
/// uploads, so a file reaches the server once, whole.
@Suite("Mount: descriptors shared by a shell group and a child process")
struct SharedDescriptorTests {
    @Test func aGroupOfCommandsAndAChildProcessUploadTheWholeFileOnce() async throws {
        try await MountFixture.with(limits: .current) { m in
            let result = try await m.shell(
                #"""
                set -e
                { head -c 10000 "$S/hello.mp3"; tail -c +10001 "$S/hello.mp3"; } > "$M/voice/grp.mp3"
                cmp "$S/hello.mp3" "$M/voice/grp.mp3"
                { head -c 3000 "$S/clip.mp4"; tail -c +3001 "$S/clip.mp4"; } > "$M/video/grp.mp4"
                cmp "$S/clip.mp4" "$M/video/grp.mp4"
                python3 - "$S/cat.jpg" "$M/image/child.jpg" <<'PY'
                import subprocess, sys
                data = open(sys.argv[1], "rb").read()
                with open(sys.argv[2], "wb") as out:
                    out.write(data[:3000])
                    out.flush()
                    subprocess.run(["true"], check=True)  # the fork shares the descriptor until exec
                    out.write(data[3000:])
                PY
                cmp "$S/cat.jpg" "$M/image/child.jpg"
                """#)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
            #expect(!result.stderr.contains("write error"), "\(result.stderr)")
            #expect(try await m.emulator.counters()["upload"] == 3, "each file uploaded once, whole")
            let status = try await Command.run(Command.wxmediafsPath, ["status", m.mountpoint, "--json"])
            #expect(status.status == 0 && !status.stdout.contains("EINVAL"), "no failure in status: \(status.stdout)")
        }
    }
}
