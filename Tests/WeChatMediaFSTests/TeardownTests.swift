import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Unmounting while requests are in flight (issue 11, point 3): every request is answered at most
/// once and no answer touches the libfuse session after it is destroyed, so the daemon exits by
/// itself, cleanly, and nothing that used the mount hangs.
@Suite("Mount: teardown with requests in flight")
struct TeardownTests {
    static let rounds = 50

    /// How a round unmounts; the rounds take turns.
    enum Unmount: String, Hashable {
        /// `wxmediafs unmount --lazy`: detached at once, the open files are served to their end,
        /// and the loop ends when the last one is released.
        case lazy
        /// `umount --force --lazy`: the kernel also aborts the connection, so the loop ends at once
        /// with the upload, the download and the stats still being served.
        case forced
    }

    /// The daemon's malloc made hostile to use-after-free, so that a reply into freed memory
    /// crashes instead of passing unnoticed: freed memory is filled with 0xA5 bytes
    /// (MALLOC_PERTURB_=165) and the heap is checked on every call (MALLOC_CHECK_=3, which glibc
    /// 2.34 and later honour only with their debugging malloc preloaded).
    static var hostileMalloc: [String: String] {
        var environment = ["MALLOC_PERTURB_": "165", "MALLOC_CHECK_": "3"]
        let debuggingMalloc = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"]
            .map { $0 + "/libc_malloc_debug.so.0" }
            .first { FileManager.default.fileExists(atPath: $0) }
        if let debuggingMalloc { environment["LD_PRELOAD"] = debuggingMalloc }
        return environment
    }

    /// What a crashing daemon leaves in its log (stderr): Swift traps and glibc's heap checks.
    static let crashMarks = [
        "Fatal error", "Swift runtime failure", "free(): ", "malloc(): ", "double free", "corrupted", "Segmentation",
    ]

    /// From the daemon's log line "the FUSE loop ended with N requests in flight"; 0 without one.
    static func requestsInFlightAtTeardown(_ log: String) -> Int {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("the FUSE loop ended with ") }),
            let count = line.components(separatedBy: "the FUSE loop ended with ").last?.split(separator: " ").first
        else { return 0 }
        return Int(count) ?? 0
    }

    @Test func unmountingWithRequestsInFlightNeverCrashesOrHangs() async throws {
        try await EmulatorFixture.with { emulator in
            // A small thumb for /by-id/ whose download trickles (one byte a millisecond: ~0.7 s),
            // and uploads held 0.8 s by the server: both are still in flight when a round unmounts.
            let token = try await emulator.legacyToken()
            let upload = try await emulator.upload(
                Samples.jpeg(size: 600), filename: "t.jpg", type: "thumb", token: token)
            let id = try #require((upload.json["thumb_media_id"] ?? upload.json["media_id"]) as? String)
            try await emulator.setFaults(
                #"""
                {"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":800},
                          {"endpoint":"get","kind":"trickle","fraction":1,"delay_ms":1}]}
                """#)
            let started = ContinuousClock.now
            var inFlight: [Unmount: [Int]] = [:]
            for number in 1...Self.rounds {
                let how: Unmount = number.isMultiple(of: 2) ? .forced : .lazy
                inFlight[how, default: []].append(try await round(number, how: how, emulator: emulator, id: id))
            }
            let summary = [Unmount.lazy, .forced].map { how in
                let counts = inFlight[how, default: []]
                return
                    "\(how.rawValue): \(counts.filter { $0 > 0 }.count) of \(counts.count) (at most \(counts.max() ?? 0))"
            }
            print(
                "TeardownTests: \(Self.rounds) rounds in \(started.duration(to: .now)); rounds whose loop ended with requests in flight: \(summary.joined(separator: ", "))"
            )
            // Otherwise the test would prove nothing: forced rounds end the loop amid requests.
            #expect(inFlight[.forced, default: []].contains { $0 > 0 }, "requests in flight at teardown: \(inFlight)")
        }
    }

    /// One mount, a slow upload, a stream of stats and a trickling read, an unmount while they
    /// run; how many requests were in flight when the daemon's loop ended, as it logs.
    func round(_ number: Int, how: Unmount, emulator: EmulatorFixture, id: String) async throws -> Int {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        let mount = try await MountFixture.start(emulator: emulator, folder: folder, environment: Self.hostileMalloc)
        let name = "round \(number) (\(how.rawValue))"
        var background: [BackgroundCommand] = []
        do {
            let before = try await emulator.counters()
            let m = mount.mountpoint
            background.append(try Command.start("/bin/cp", [Samples.path("cat.jpg"), m + "/image/slow.jpg"]))
            background.append(
                try Command.start(
                    "/bin/bash",
                    ["-c", #"for i in $(seq 300); do stat "$0/image" "$0/by-id"; ls -l "$0/image"; done"#, m]))
            background.append(try Command.start("/bin/cat", [m + "/by-id/" + id]))
            let inFlight = try await eventually {
                let now = try await emulator.counters()
                return now["upload", default: 0] > before["upload", default: 0]
                    && now["get", default: 0] > before["get", default: 0]
            }
            try #require(inFlight, "\(name): the upload and the download reached the server")

            let unmount =
                switch how {
                case .lazy: try await Command.run(Command.wxmediafsPath, ["unmount", "--lazy", m])
                case .forced: try await Command.run("/usr/bin/umount", ["--force", "--lazy", m])
                }
            #expect(unmount.status == 0, "\(name): \(unmount.stderr)")
            // Longer than the daemon's own 35 s bound for answering what is in flight.
            let exited = await eventually(within: .seconds(45)) { !mount.isRunning }
            #expect(exited, "\(name): the daemon exits by itself: \(mount.log)")
            if exited {
                #expect(
                    !mount.endedBySignal && mount.terminationStatus == 0,
                    "\(name): the daemon ended with \(mount.endedBySignal ? "signal" : "status") \(mount.terminationStatus): \(mount.log)"
                )
            }
            let log = mount.log
            for mark in Self.crashMarks { #expect(!log.contains(mark), "\(name): \(mark) in \(log)") }
            for command in background {
                #expect(await command.waitForExit(within: .seconds(20)), "\(name): a process using the mount hangs")
            }
            #expect(!MountFixture.isMounted(m), "\(name): no mount left behind")
            try await mount.stop()
            return Self.requestsInFlightAtTeardown(log)
        } catch {
            for command in background { command.kill() }
            try? await mount.stop()
            throw error
        }
    }
}
