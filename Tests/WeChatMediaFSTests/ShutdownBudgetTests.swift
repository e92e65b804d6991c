import Deadlines
import EmulatorTestSupport
import FUSEKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM ends a mount within one budget (40 s, under the unit's TimeoutStopSec=45), however
/// long an upload is held: before, the wait for uploads in flight was bounded only by
/// `--request-timeout` (issue 21, point 2; the waiter bug of `Uploader.waitUntilIdle`).
@Suite("Shutdown budget", .serialized)
struct ShutdownBudgetTests {
    static let heldTenMinutes = #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":600000}]}"#
    /// The unit's TimeoutStopSec: past it systemd kills the mount.
    static let unitStopTimeout = Duration.seconds(45)

    @Test func aSIGTERMWhileAnUploadIsHeldTenMinutesEndsTheMountWithinTheBudget() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let mount = try await MountFixture.start(
                emulator: emulator, folder: folder, arguments: ["--request-timeout", "1h"])
            try await emulator.setFaults(Self.heldTenMinutes)
            let copy = Task { try await mount.shell(#"cp "$S/cat.jpg" "$M/image/held.jpg""#) }
            #expect(try await eventually { try await emulator.counters()["upload", default: 0] >= 1 })
            let start = ContinuousClock.now
            kill(mount.processIdentifier, SIGTERM)
            let status = try await mount.waitForExit(within: Self.unitStopTimeout)
            let took = start.duration(to: .now)
            #expect(took < Self.unitStopTimeout, "the mount exited \(took) after SIGTERM")
            #expect(try await copy.value.status != 0, "the held upload is not reported done")
            print(
                "shutdown: sync mode, an upload held 10 min: exit status \(status) after \(took.wholeMilliseconds) ms")
        }
    }

    @Test func inBackgroundModeTheHeldUploadStaysQueuedAndTheNextMountUploadsIt() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let arguments = ["--request-timeout", "1h", "--uploads", "background"]
            let mount = try await MountFixture.start(emulator: emulator, folder: folder, arguments: arguments)
            try await emulator.setFaults(Self.heldTenMinutes)
            #expect(try await mount.shell(#"cp "$S/cat.jpg" "$M/image/held.jpg""#).status == 0)
            #expect(try await eventually { try await emulator.counters()["upload", default: 0] >= 1 })
            let start = ContinuousClock.now
            kill(mount.processIdentifier, SIGTERM)
            _ = try await mount.waitForExit(within: Self.unitStopTimeout)
            let took = start.duration(to: .now)
            #expect(took < Self.unitStopTimeout, "the mount exited \(took) after SIGTERM")
            let queued = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/cache/queue")) ?? []
            #expect(!queued.isEmpty, "the held file stays queued on disk")
            print("shutdown: background mode, an upload held 10 min: exit after \(took.wholeMilliseconds) ms")

            try await emulator.setFaults(#"{"rules":[]}"#)
            let again = try await MountFixture.start(emulator: emulator, folder: folder, arguments: arguments)
            let sync = try await Command.run(Command.wxmediafsPath, ["sync", again.mountpoint])
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(again.contents("image/held.jpg.media_id") != nil, "the next mount uploaded it")
            try await again.stop()
        }
    }
}
