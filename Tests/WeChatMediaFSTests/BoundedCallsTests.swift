import Deadlines
import EmulatorTestSupport
import FUSEKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every call within its bound, and no request that may have reached the server sent again
/// blindly (issue 20, points 4 and 10).
@Suite("Bounded calls", .serialized)
struct BoundedCallsTests {
    static func delayedUploads(_ milliseconds: Int) -> String {
        #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":\#(milliseconds)}]}"#
    }

    /// The HTTP client's read timeout is the mount's `--request-timeout`, not a fixed minute.
    @Test func anUploadAnsweredAfter65SecondsWithinA150SecondBoundIsSentOnceAndSucceeds() async throws {
        try await MountFixture.with(arguments: ["--request-timeout", "150s"]) { mount in
            try await mount.emulator.setFaults(Self.delayedUploads(65_000))
            let start = ContinuousClock.now
            let copy = try await mount.shell(
                #"cp "$S/cat.jpg" "$M/image/slow.jpg" && cat "$M/image/slow.jpg.media_id""#)
            let took = start.duration(to: .now)
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(try await mount.emulator.counters()["upload"] == 1, "the upload was sent once")
            print("an upload answered after 65 s: cp returned 0 after \(took.wholeMilliseconds) ms")
        }
    }

    @Test func anUploadWithNoReplyByItsBoundFailsThenAndIsNotSentAgain() async throws {
        try await MountFixture.with(arguments: ["--request-timeout", "4s"]) { mount in
            try await mount.emulator.setFaults(Self.delayedUploads(8_000))
            let start = ContinuousClock.now
            let copy = try await mount.shell(#"cp "$S/cat.jpg" "$M/image/late.jpg""#)
            let took = start.duration(to: .now)
            #expect(copy.status != 0 && copy.stderr.contains("Input/output error"), "\(copy.stderr)")
            #expect(
                try await mount.emulator.counters()["upload"] == 1, "a request that may have arrived is not sent again")
            print("an upload with no reply by its 4 s bound failed after \(took.wholeMilliseconds) ms")
        }
    }

    @Test func statusAndSyncFindTheMountFromAFolderInsideIt() async throws {
        try await MountFixture.with { mount in
            #expect(try await mount.shell(#"mkdir -p "$M/image/a/b""#).status == 0)
            let status = try await Command.run(Command.wxmediafsPath, ["status", mount.path("image/a/b")])
            #expect(status.status == 0 && status.stdout.contains(mount.mountpoint), "\(status.stdout) \(status.stderr)")
            let sync = try await Command.run(Command.wxmediafsPath, ["sync", mount.path("image/a")])
            #expect(sync.status == 0, "\(sync.stderr)")
        }
    }

    @Test func aByIDNamePast255BytesIsENAMETOOLONGAndANonUTF8XattrNameEILSEQ() async throws {
        try await MountFixture.with { mount in
            let long = String(repeating: "a", count: 256)
            let lookup = try await mount.shell(#"python3 -c 'import os,sys; os.stat(sys.argv[1])' "$M/by-id/\#(long)""#)
            #expect(lookup.stderr.contains("File name too long"), "\(lookup.stderr)")
            #expect(try await mount.shell(#"cp "$S/cat.jpg" "$M/image/x.jpg""#).status == 0)
            let xattr = try await mount.shell(
                #"python3 -c 'import os,sys; os.setxattr(sys.argv[1], b"user.\xff", b"v")' "$M/image/x.jpg""#)
            #expect(xattr.stderr.contains("Invalid or incomplete multibyte or wide character"), "\(xattr.stderr)")
        }
    }

    /// SIGTERM while a request is held (a client that went quiet, a slow handler): the emulator
    /// waits `WeChatEmulator.shutdownGrace` (3 s) for it, then exits.
    @Test func theEmulatorExitsPromptlyOnSIGTERMWithARequestInFlight() async throws {
        let data = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let result = try await Command.run(
            "/bin/bash",
            [
                "-c",
                """
                set -u
                '\(Command.wxmediafsPath)' emulator --port 0 --data-dir '\(data)' --appid wxa --secret s0123456789abcdef --test-controls > '\(data)/log' 2>&1 &
                pid=$!
                for i in $(seq 100); do grep -q http '\(data)/log' && break; sleep 0.05; done
                url=$(grep -o 'http://[0-9.:]*' '\(data)/log' | head -1)
                curl -s -XPOST "$url/_emulator/faults" -d '{"rules":[{"endpoint":"token","kind":"delay","fraction":1,"delay_ms":90000}]}' > /dev/null
                curl -s -m 100 "$url/cgi-bin/token?grant_type=client_credential&appid=wxa&secret=s0123456789abcdef" > /dev/null &
                held=$!
                sleep 0.5
                start=$(date +%s%N)
                kill -TERM $pid
                wait $pid
                echo "$(( ($(date +%s%N) - start) / 1000000 ))"
                kill $held 2>/dev/null
                true
                """,
            ])
        let milliseconds = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .max
        #expect(milliseconds < 10_000, "the emulator exited \(milliseconds) ms after SIGTERM: \(result.stderr)")
        print("the emulator exited \(milliseconds) ms after SIGTERM with a request held for 90 s")
    }
}
