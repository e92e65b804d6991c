import EmulatorTestSupport
import Foundation
import Testing

/// What the current docs add to the refusals of credentials: 61004 (the caller's IP is not in
/// the whitelist, beside the older 40164) and 40243 (the AppSecret is frozen). Each is EACCES at
/// `close()`, with a log line and a `status` entry that say what to do.
@Suite("61004 and 40243: EACCES with what to do")
struct PlatformRefusalTests {
    @Test func anUnlistedIPAndAFrozenSecretAreEACCESWithAdvice() async throws {
        try await MountFixture.with { m in
            try await m.emulator.control(.POST, "whitelist", json: #"{"ips":["192.0.2.1"]}"#)
            let whitelisted = try await m.shell(#"cp "$S/cat.jpg" "$M/image/a.jpg""#)
            #expect(whitelisted.status != 0)
            #expect(whitelisted.stderr.contains("Permission denied"), "\(whitelisted.stderr)")
            #expect(!m.exists("image/a.jpg"), "nothing is left behind")
            let ipLine = m.log.split(separator: "\n").first { $0.contains("upload image/a.jpg: ") } ?? ""
            #expect(ipLine.contains("EACCES (errcode 61004, access clientip is not registered"), "\(ipLine)")
            #expect(ipLine.contains("add this machine's public IP to the API IP whitelist"), "\(ipLine)")

            try await m.emulator.control(.DELETE, "whitelist")
            try await m.emulator.control(.POST, "secret/freeze")
            let frozen = try await m.shell(#"cp "$S/cat.jpg" "$M/image/b.jpg""#)
            #expect(frozen.stderr.contains("Permission denied"), "\(frozen.stderr)")
            let secretLine = m.log.split(separator: "\n").first { $0.contains("upload image/b.jpg: ") } ?? ""
            #expect(secretLine.contains("EACCES (errcode 40243, "), "\(secretLine)")
            #expect(secretLine.contains("the AppSecret is frozen: unfreeze it"), "\(secretLine)")
            let status = try await m.status().stdout
            #expect(status.contains("upload image/a.jpg: EACCES (errcode 61004"), "\(status)")
            #expect(status.contains("upload image/b.jpg: EACCES (errcode 40243"), "\(status)")

            // Once the console is put right, the next copy works without a remount.
            try await m.emulator.control(.DELETE, "secret/freeze")
            let fixed = try await m.shell(#"cp "$S/cat.jpg" "$M/image/c.jpg" && cat "$M/image/c.jpg.media_id""#)
            #expect(fixed.status == 0, "\(fixed.stderr)")
        }
    }
}
