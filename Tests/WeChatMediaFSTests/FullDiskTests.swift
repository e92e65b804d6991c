import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A cache dir on a full disk: the write that meets it fails with ENOSPC, the close too (no rules
/// check of a file that could not be spooled), nothing is left behind, also after a remount, and
/// `status` says why.
@Suite("Mount: a full cache disk")
struct FullDiskTests {
    /// A temporary folder whose `cache` is a tmpfs of `size` (`20m`), unmounted and removed after `body`.
    static func withCacheOnTmpfs<T>(size: String, _ body: (_ folder: String, _ cache: String) async throws -> T)
        async throws -> T
    {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        let cache = folder + "/cache"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let tmpfs = try await Command.run(
            "/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", cache])
        try #require(tmpfs.status == 0, "\(tmpfs.stderr)")
        // Declared after cleanUp, so it runs first: the tmpfs goes before its folder.
        defer { _ = umount2(cache, Int32(MNT_DETACH)) }
        return try await body(folder, cache)
    }

    @Test func aFullCacheDiskIsENOSPCAndLeavesNothingBehind() async throws {
        try await EmulatorFixture.with(limits: .current) { emulator in
            try await Self.withCacheOnTmpfs(size: "20m") { folder, cache in
                let big = folder + "/big.mp4"
                #expect(
                    try await Command.run("/bin/sh", ["-c", "head -c 8388608 /dev/urandom > '\(big)'"]).status == 0)

                var mount = try await MountFixture.start(emulator: emulator, folder: folder, limits: .current)
                do {
                    // Leave about 1.7 MB of the 20 MiB free.
                    var info = statvfs()
                    _ = statvfs(cache, &info)
                    let free = Int(info.f_bavail) * Int(info.f_frsize)
                    let filler = cache + "/filler"
                    let fill = try await Command.run(
                        "/usr/bin/fallocate", ["-l", "\(max(0, free - 1_700_000))", filler])
                    #expect(fill.status == 0, "\(fill.stderr)")

                    let copy = try await mount.shell(#"cp '\#(big)' "$M/video/big.mp4""#)
                    #expect(copy.status != 0)
                    #expect(copy.stderr.contains("No space left on device"), "\(copy.stderr)")
                    #expect(!copy.stderr.contains("Invalid argument"), "no rules check of a half-spooled file")
                    let listing = try await mount.shell(#"ls -A "$M/video""#)
                    #expect(listing.status == 0 && listing.stdout.isEmpty, "nothing left behind: \(listing.stdout)")
                    let status = try await Command.run(Command.wxmediafsPath, ["status", mount.mountpoint])
                    #expect(
                        status.stdout.contains("write video/big.mp4: ENOSPC (the cache dir's disk is full"),
                        "\(status.stdout)")

                    // Full to the last byte: even a create is ENOSPC, not EIO.
                    _ = try await Command.run(
                        "/bin/sh", ["-c", "cat /dev/zero > '\(cache)/filler2' 2>/dev/null; true"])
                    let create = try await mount.shell(#"touch "$M/image/x.jpg""#)
                    #expect(create.status != 0)
                    #expect(create.stderr.contains("No space left on device"), "\(create.stderr)")

                    try await mount.stop()
                    try FileManager.default.removeItem(atPath: filler)
                    try FileManager.default.removeItem(atPath: cache + "/filler2")
                    mount = try await MountFixture.start(emulator: emulator, folder: folder, limits: .current)
                    let after = try await mount.shell(#"ls -A "$M/video" "$M/image""#)
                    #expect(!after.stdout.contains("big.mp4") && !after.stdout.contains("x.jpg"), "\(after.stdout)")
                    try await mount.stop()
                } catch {
                    try? await mount.stop()
                    throw error
                }
            }
        }
    }

    /// On a disk smaller than the old fixed 256 MiB floor, a video just uploaded reads back: the
    /// floor is a share of the disk, and the only copy of a video is not evicted for the cap.
    @Test func aSmallCacheDiskKeepsAVideoJustUploaded() async throws {
        try await EmulatorFixture.with(limits: .seed) { emulator in
            try await Self.withCacheOnTmpfs(size: "100m") { folder, _ in
                let mount = try await MountFixture.start(
                    emulator: emulator, folder: folder, limits: .seed, arguments: ["--cache-max-size", "0"])
                do {
                    let result = try await mount.shell(
                        #"cp "$S/clip.mp4" "$M/video/clip.mp4" && cmp "$S/clip.mp4" "$M/video/clip.mp4" && echo same"#)
                    #expect(result.stdout == "same\n", "\(result.stderr)")
                    try await mount.stop()
                } catch {
                    try? await mount.stop()
                    throw error
                }
            }
        }
    }
}
