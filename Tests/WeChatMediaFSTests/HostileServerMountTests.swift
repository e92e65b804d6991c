import EmulatorTestSupport
import Foundation
import Testing

/// Issue 11: a stand-in server answered an upload with `"created_at": 9223372036854775807`; cp
/// returned 0, and the daemon later died of an overflow, and so did every remount. Each value here
/// must instead fail the upload with EIO and a log line naming the field, while the mount goes on
/// answering, and a remount on the same cache comes up.
@Suite("Mount: a server that sends implausible values")
struct HostileServerMountTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let replies: StandInServer.Replies
        /// What the daemon's log line about the failed upload must contain.
        let logged: String

        var testDescription: String { name }

        static func upload(_ name: String, _ fields: String, logged: String) -> Case {
            Case(name: name, replies: .init(upload: #"{"type":"image",\#(fields)}"#), logged: logged)
        }

        static func token(_ name: String, expiresIn: String) -> Case {
            Case(
                name: name,
                replies: .init(token: #"{"access_token":"standinToken_0123456789","expires_in":\#(expiresIn)}"#),
                logged: "expires_in \(expiresIn)")
        }
    }

    static let goodID = #""media_id":"standinMediaId0123456789""#
    static let goodTime = #""created_at":1486032778"#

    static let cases: [Case] = [
        .upload(
            "created_at Int64.max", "\(goodID),\"created_at\":9223372036854775807",
            logged: "created_at 9223372036854775807"),
        .upload(
            "created_at Int64.min", "\(goodID),\"created_at\":-9223372036854775808",
            logged: "created_at -9223372036854775808"),
        .upload("created_at -1", "\(goodID),\"created_at\":-1", logged: "created_at -1"),
        .upload("created_at a string", "\(goodID),\"created_at\":\"a string\"", logged: #"created_at "a string""#),
        .upload("created_at 1.5", "\(goodID),\"created_at\":1.5", logged: "created_at 1.5"),
        .upload(
            "media_id ../../etc/passwd", "\"media_id\":\"../../etc/passwd\",\(goodTime)",
            logged: "media_id \"../../etc/passwd\""),
        // 100,000 characters do not fit the 64 KiB a JSON reply may have: refused by its size first.
        .upload(
            "media_id of 100,000 characters", "\"media_id\":\"\(String(repeating: "A", count: 100_000))\",\(goodTime)",
            logged: "reply larger than 65536 bytes"),
        .token("expires_in Int64.max", expiresIn: "9223372036854775807"),
        .token("expires_in -5", expiresIn: "-5"),
        .token("expires_in 0", expiresIn: "0"),
    ]

    @Test("the upload fails with EIO, the mount goes on, a remount comes up", arguments: cases)
    func hostileValue(_ hostile: Case) async throws {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        try await StandInServer.with(hostile.replies) { server in
            let account = try Self.account(apiBase: server.baseURL, folder: folder)
            let first = try await MountProcess.with(folder: folder, arguments: account + ["--request-timeout", "10s"]) {
                m in
                let copy = try await m.shell(#"cp "$S/cat.jpg" "$M/image/x.jpg""#)
                #expect(copy.status != 0)
                #expect(copy.stderr.contains("Input/output error"), "\(copy.stderr)")

                let listing = try await m.shell(#"ls -l "$M/image""#)
                #expect(listing.status == 0, "\(listing.stderr)")
                #expect(!listing.stdout.contains("media_id"), "no sidecar claims success: \(listing.stdout)")
                let stat = try await m.shell(#"stat "$M/image/x.jpg""#)
                // The failed new name is gone, and the kernel was told before close answered.
                #expect(stat.status != 0 && stat.stderr.contains("No such file"), "\(stat.stdout) \(stat.stderr)")
                let byID = try await m.shell(#"ls "$M/by-id""#)
                #expect(byID.status == 0 && byID.stdout.isEmpty, "\(byID.stdout) \(byID.stderr)")
                let sidecar = try await m.shell(#"cat "$M/image/x.jpg.media_id""#)
                #expect(sidecar.status != 0 && sidecar.stdout.isEmpty, "\(sidecar.stdout)")

                // The line is written as the upload fails; wait for it with a deadline all the same.
                _ = await eventually(within: .seconds(10)) { m.log.contains(hostile.logged) }
                let failure = m.log.split(separator: "\n").first { $0.contains("upload image/x.jpg: ") }
                #expect(failure?.contains(": EIO (") == true, "\(m.log)")
                #expect(failure?.contains(hostile.logged) == true, "the log names the field: \(m.log)")
                #expect(failure.map { $0.count < 1000 } ?? true, "a long value is cut short in the log")
                #expect(m.isRunning)
                return m
            }
            #expect(first.terminationStatus == 0 && !first.endedBySignal, "\(first.log)")

            try await MountProcess.with(folder: folder, arguments: account) { m in
                let listing = try await m.shell(#"ls -l "$M/image""#)
                #expect(listing.status == 0, "remounted on the same cache: \(listing.stderr) \(m.log)")
                #expect(!listing.stdout.contains("media_id"), "\(listing.stdout)")
            }
        }
    }

    /// The `mount` options for a stand-in server at `apiBase`: its app, a secret in `folder/secret`
    /// and the cache in `folder/cache`.
    static func account(apiBase: String, folder: String) throws -> [String] {
        try "standin-secret\n".write(toFile: folder + "/secret", atomically: true, encoding: .utf8)
        return [
            "--appid", "wxtest", "--secret-file", folder + "/secret", "--api-base", apiBase, "--cache-dir",
            folder + "/cache",
        ]
    }
}
