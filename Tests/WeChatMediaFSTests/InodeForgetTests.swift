import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 21, point 5: `/by-id/` files are the only inodes with a row in the daemon; the row lives
/// as long as the kernel holds a reference, so the table goes back to empty once the kernel
/// forgets (here: `drop_caches`, root only, as CI runs).
@Suite("Forget", .serialized, .enabled(if: getuid() == 0, "drop_caches needs root"))
struct InodeForgetTests {
    static let lookups = 20_000

    @Test func distinctByIDLookupsLeaveNoRowOnceTheKernelForgets() async throws {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        // A server that has every id: each lookup is a HEAD that finds a file.
        let headers = [
            ("Content-Type", "image/jpeg"), ("Content-Disposition", #"attachment; filename="x.jpg""#),
            ("Content-Length", "10"),
        ]
        try await StandInServer.with(.init(download: (headers, "0123456789"))) { server in
            let account = try HostileServerMountTests.account(apiBase: server.baseURL, folder: folder)
            try await MountProcess.with(folder: folder, arguments: account + ["--metrics-address", "127.0.0.1:0"]) {
                m in
                let status = try await Command.run(Command.wxmediafsPath, ["status", m.mountpoint, "--json"])
                let document = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
                let url = try #require(document?["metricsURL"] as? String, "\(status.stdout)")
                let rows = { try await Scrape.fetch(url).value("wxmediafs_inodes", ["table": "by_id"]) ?? 0 }
                let before = Self.residentKiB(of: m.processIdentifier)

                let stat = try await m.shell(
                    """
                    python3 -c '
                    import os, sys
                    for i in range(\(Self.lookups)):
                        os.stat(os.path.join(sys.argv[1], "by-id", "forgetMe%08dAbCdEfGhIjKl" % i))
                    ' "$M"
                    """)
                #expect(stat.status == 0, "\(stat.stderr)")
                let looked = try await rows()
                let grown = Self.residentKiB(of: m.processIdentifier)
                #expect(looked == Double(Self.lookups), "a row per id the kernel holds")

                sync()
                try "2\n".write(toFile: "/proc/sys/vm/drop_caches", atomically: false, encoding: .utf8)
                let emptied = try await eventually(within: .seconds(30), every: .milliseconds(100)) {
                    try await rows() == 0
                }
                let left = try await rows()
                #expect(emptied, "every row goes once the kernel forgets (\(left) left)")
                let after = Self.residentKiB(of: m.processIdentifier)
                print(
                    "by-id rows: \(Int(looked)) after \(Self.lookups) lookups, \(Int(left)) after forget; daemon RSS \(before) KiB -> \(grown) KiB -> \(after) KiB"
                )
            }
        }
    }

    /// The daemon's resident set, from /proc.
    static func residentKiB(of pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}
