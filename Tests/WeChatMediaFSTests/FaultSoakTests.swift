import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The promise under faults: a `cp` that returned 0 means the server has those exact bytes; one
/// that failed left nothing behind; no call outlived its deadline; memory stayed bounded.
/// `WXMEDIAFS_SOAK_FILES` sets the size (40 in CI; `mount-scripts/soak.sh` runs 200).
@Suite("Mount: fault soak")
struct FaultSoakTests {
    @Test func everyCpThatSucceededIsOnTheServerAndEveryFailureLeftNothing() async throws {
        let total = ProcessInfo.processInfo.environment["WXMEDIAFS_SOAK_FILES"].flatMap(Int.init) ?? 40
        let source = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: source) }
        for index in 0..<total {
            let bytes = [0xFF, 0xD8, 0xFF, 0xE0] + Samples.randomBytes(50 * 1024 - 4)
            try Data(bytes).write(to: URL(fileURLWithPath: source + "/f\(index).jpg"))
        }
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mount = try await MountFixture.start(
                emulator: emulator, folder: folder, arguments: ["--log-level", "info", "--request-timeout", "20s"])
            try await emulator.setFaults(
                #"{"rules":[{"kind":"errcode","fraction":0.05},{"kind":"http503","fraction":0.05},{"kind":"drop","fraction":0.05},{"kind":"delay","fraction":0.05,"delay_ms":2000}]}"#
            )
            let started = ContinuousClock.now
            // Four cp streams, each copying its share one file at a time and reporting each status.
            let streams = try await withThrowingTaskGroup(of: String.self) { group in
                for stream in 0..<4 {
                    group.addTask {
                        try await mount.shell(
                            #"for i in $(seq \#(stream) 4 \#(total - 1)); do if cp '\#(source)'/f$i.jpg "$M/image/"; then echo ok $i; else echo failed $i; fi; done"#
                        ).stdout
                    }
                }
                return try await group.reduce(into: "") { $0 += $1 }
            }
            let elapsed = started.duration(to: .now)
            let injected = try await emulator.injectedFaults()
            let uploadRequests = try await emulator.counters()["upload", default: 0]
            try await emulator.setFaults(#"{"rules":[]}"#)
            let lines = streams.split(separator: "\n")
            #expect(lines.count == total)
            let token = try await emulator.legacyToken()
            var succeeded = 0
            for line in lines {
                let parts = line.split(separator: " ")
                let name = "f\(parts[1]).jpg"
                if parts[0] == "ok" {
                    succeeded += 1
                    let id = String(decoding: mount.contents("image/\(name).media_id") ?? [], as: UTF8.self)
                        .trimmingCharacters(in: .whitespacesAndNewlines)
                    let onServer = try await emulator.request(
                        .GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)")
                    #expect(
                        onServer.body == Array(FileManager.default.contents(atPath: source + "/" + name) ?? Data()),
                        "\(name) reported uploaded: the server must have its exact bytes")
                } else {
                    #expect(
                        !mount.exists("image/\(name)") && !mount.exists("image/\(name).media_id"),
                        "\(name) failed but left an entry")
                }
            }
            let status = (try? String(contentsOfFile: "/proc/\(mount.processIdentifier)/status", encoding: .utf8)) ?? ""
            let peakKiB =
                status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
                .flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }
                .flatMap { Int($0) } ?? 0
            try await mount.stop()
            let served = mount.log.split(separator: "\n").first { $0.contains("served ") }.map(String.init) ?? ""
            let slowest = served.split(separator: " in ").last.map(String.init) ?? "?"
            print(
                "soak: \(total) files, \(succeeded) uploaded, \(total - succeeded) failed cleanly; faults injected \(injected) (\(injected.reduce(0, +)) in all); \(uploadRequests) upload requests (\(uploadRequests - total) retries); peak memory \(peakKiB / 1024) MiB; slowest call \(slowest); \(elapsed)"
            )
            #expect(injected.reduce(0, +) >= total / 5, "faults were injected")
            #expect(succeeded >= total * 9 / 10, "retries carry almost every upload through 20% faults")
            #expect(peakKiB > 0 && peakKiB < 256 * 1024, "memory stayed bounded: \(peakKiB) KiB")
            let seconds = (Double(slowest.split(separator: " ").first ?? "") ?? 999_000) / 1000
            #expect(seconds <= 25, "no call past the 20 s deadline (+ slack): \(served)")
        }
    }
}
