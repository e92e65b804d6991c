import EmulatorTestSupport
import FUSEKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// mount(8), /etc/fstab and systemd: the helper `/sbin/mount.wxmediafs` (put there by
/// mount-scripts/install.sh, which the test script runs) and the unit file.
@Suite("System: mount -t, fstab, systemd unit, sd_notify")
struct SystemMountTests {
    static let helper = "/sbin/mount.wxmediafs"

    /// Runs `script` with `$E` (the emulator's base URL), `$F` (a folder of its own, with the
    /// secret in `$F/secret`), `$A` (the app id), `$S` (the samples) and `WXMEDIAFS_BIN` naming
    /// the binary under test for the helper.
    /// Whatever is still mounted under `$F` afterwards is detached, and its daemons waited for.
    func withSystemFolder(
        _ body:
            @Sendable (EmulatorFixture, String, @Sendable (String) async throws -> CommandResult) async throws -> Void
    ) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.helper), "run mount-scripts/install.sh first")
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            _ = try MountFixture.account(emulator: emulator, folder: folder)  // writes $F/secret
            let run: @Sendable (String) async throws -> CommandResult = { script in
                try await Command.run(
                    "/usr/bin/env",
                    [
                        "WXMEDIAFS_BIN=\(Command.wxmediafsPath)", "/bin/bash", "-c",
                        "E='\(emulator.baseURL)'; F='\(folder)'; A='\(EmulatorFixture.appID)'; S='\(Samples.folder)'; "
                            + script,
                    ])
            }
            do {
                try await body(emulator, folder, run)
            } catch {
                await Self.detachAll(under: folder)
                throw error
            }
            await Self.detachAll(under: folder)
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    static func detachAll(under folder: String) async {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 1, fields[1].hasPrefix(folder + "/") { MountTable.detach(String(fields[1]), lazy: true) }
        }
        _ = await waitForNoDaemon(under: folder)
    }

    /// Polls until no `wxmediafs mount` process serves a mountpoint under `folder`.
    static func waitForNoDaemon(under folder: String) async -> Bool {
        await eventually { daemons(under: folder).isEmpty }
    }

    static func daemons(under folder: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry),
                let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let arguments = command.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.contains("--foreground"), arguments.contains(where: { $0.hasPrefix(folder + "/") })
            else { return nil }
            return pid
        }
    }

    @Test func mountDashTUploadsAndUmountStopsTheDaemon() async throws {
        try await withSystemFolder { _, folder, run in
            let result = try await run(
                #"""
                set -e
                mkdir -p "$F/mnt"
                mount -t wxmediafs wxmediafs "$F/mnt" -o "appid=$A,secret_file=$F/secret,cache_dir=$F/cache,api_base=$E,_netdev,nofail"
                grep " $F/mnt fuse.wxmediafs " /proc/mounts
                cp "$S/cat.jpg" "$F/mnt/image/"
                cat "$F/mnt/image/cat.jpg.media_id"
                umount "$F/mnt"
                ! grep -q " $F/mnt " /proc/mounts
                """#)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("fuse.wxmediafs"))
            #expect(result.stdout.split(separator: "\n").contains { $0.count >= 32 && !$0.contains(" ") }, "a media id")
            #expect(await Self.waitForNoDaemon(under: folder), "the daemon exits after umount")
        }
    }

    @Test func fstabLinesMountWithMountDashAAndNoautoWaitsToBeAsked() async throws {
        try await withSystemFolder { _, folder, run in
            let result = try await run(
                #"""
                set -e
                mkdir -p "$F/auto" "$F/manual"
                cat > "$F/fstab" <<EOF
                wxmediafs $F/auto wxmediafs appid=$A,secret_file=$F/secret,cache_dir=$F/cache-auto,api_base=$E,_netdev,nofail,x-systemd.automount 0 0
                wxmediafs $F/manual wxmediafs noauto,appid=$A,secret_file=$F/secret,cache_dir=$F/cache-manual,api_base=$E 0 0
                EOF
                mount -a -T "$F/fstab"
                echo "after mount -a: $(grep -c " $F/" /proc/mounts)"
                mount -a -T "$F/fstab"
                echo "after a second mount -a: $(grep -c " $F/" /proc/mounts)"
                mount -T "$F/fstab" "$F/manual"
                echo "after mount manual: $(grep -c " $F/" /proc/mounts)"
                ls "$F/auto" "$F/manual"
                umount "$F/auto"
                umount "$F/manual"
                echo "after umount: $(grep -c " $F/" /proc/mounts || true)"
                """#)
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("after mount -a: 1"), "noauto is skipped: \(result.stdout)")
            #expect(result.stdout.contains("after a second mount -a: 1"), "mounted lines are not mounted twice")
            #expect(result.stdout.contains("after mount manual: 2"))
            #expect(result.stdout.contains("by-id\ndrafts\nimage\nmaterial\npublished\nthumb\nvideo\nvoice"))
            #expect(result.stdout.contains("after umount: 0"))
            #expect(await Self.waitForNoDaemon(under: folder), "both daemons exit after umount")
        }
    }

    @Test func theHelperRefusesASecretInTheOptionsAndFakeMountsNothing() async throws {
        try await withSystemFolder { _, _, run in
            let result = try await run(
                #"""
                mkdir -p "$F/mnt"
                mount -t wxmediafs wxmediafs "$F/mnt" -o "appid=$A,secret=plain"; echo "secret: $?"
                mount -f -v -t wxmediafs wxmediafs "$F/mnt" -o "appid=$A,secret_file=$F/secret,nofail,allow_other,uploads=background,upload_concurrency=4,sidecars=off"; echo "fake: $?"
                grep -c " $F/mnt " /proc/mounts; true
                """#)
            #expect(result.stdout.contains("secret: 1"), "\(result.stdout)\n\(result.stderr)")
            #expect(result.stderr.contains("use secret_file="))
            #expect(!result.stderr.contains("plain"), "the secret is not echoed")
            #expect(result.stdout.contains("fake: 0"))
            #expect(
                result.stderr.contains("--appid \(EmulatorFixture.appID)") && result.stderr.contains("-o allow_other"))
            #expect(
                result.stderr.contains("--uploads background --upload-concurrency 4 --sidecars off"), "\(result.stderr)"
            )
            #expect(result.stdout.hasSuffix("0\n"), "nothing mounted")
        }
    }

    @Test func theSystemdUnitVerifies() async throws {
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let unit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("mount-scripts/wxmediafs@.service").path
        let instance = folder + "/wxmediafs@mnt-wx.service"
        try FileManager.default.copyItem(atPath: unit, toPath: instance)
        let result = try await Command.run("/usr/bin/systemd-analyze", ["verify", instance])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        #expect(text.contains("Type=notify"))
        #expect(text.contains("ExecStart=/usr/local/bin/wxmediafs mount %f --foreground"))
    }

    /// systemd's side of Type=notify, played by a datagram socket: READY=1 comes once the mount
    /// answers, STOPPING=1 when SIGTERM arrives, and the process then unmounts and exits.
    @Test func readinessAndStoppingAreNotifiedToSystemd() async throws {
        try await withSystemFolder { emulator, folder, _ in
            let listener = try NotifyListener(path: folder + "/notify")
            defer { listener.close() }
            let mountpoint = folder + "/mnt"
            try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Command.wxmediafsPath)
            process.arguments =
                ["mount", mountpoint, "--foreground"] + (try MountFixture.account(emulator: emulator, folder: folder))
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = listener.path
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

            let ready = try await listener.next(within: .seconds(30))
            #expect(ready.contains("READY=1"), "\(ready)")
            #expect(MountTable.isMounted(mountpoint), "mounted when READY=1 arrives")
            #expect(
                (try? FileManager.default.contentsOfDirectory(atPath: mountpoint).sorted())
                    == ["by-id", "drafts", "image", "material", "published", "thumb", "video", "voice"])

            kill(process.processIdentifier, SIGTERM)
            let stopping = try await listener.next(within: .seconds(30))
            #expect(stopping.contains("STOPPING=1"), "\(stopping)")
            _ = await eventually(within: .seconds(30)) { !process.isRunning }
            #expect(!process.isRunning)
            #expect(process.terminationStatus == 0)
            #expect(!MountTable.isMounted(mountpoint))
        }
    }
}

/// A bound datagram socket, as systemd's notify socket is.
final class NotifyListener: Sendable {
    let path: String
    let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, bound == 0 else { throw FixtureError("cannot bind \(path)") }
    }

    /// The next datagram, polled for with a deadline.
    func next(within limit: Duration) async throws -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let datagram = await eventuallyValue(within: limit) {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
        }
        guard let datagram else { throw FixtureError("no notification within \(limit)") }
        return datagram
    }

    func close() {
        _ = Glibc.close(descriptor)
        unlink(path)
    }
}
