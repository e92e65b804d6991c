import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The binary the quickstart installs (`WXMEDIAFS_RELEASE_BINARY`, set by mount-scripts/test.sh
/// after it ran the quickstart as root; the suite is off without it): stripped, with no Swift
/// library to load, and working where no Swift toolchain is.
@Suite(
    "The installed release binary",
    .enabled(if: ProcessInfo.processInfo.environment["WXMEDIAFS_RELEASE_BINARY"].map { !$0.isEmpty } ?? false))
struct ReleaseBinaryTests {
    let binary = ProcessInfo.processInfo.environment["WXMEDIAFS_RELEASE_BINARY"] ?? ""

    @Test func itIsStrippedAndLoadsNoSwiftLibrary() async throws {
        let sections = try await Command.run("/usr/bin/readelf", ["--sections", "--wide", binary])
        #expect(sections.status == 0, "\(sections.stderr)")
        #expect(!sections.stdout.contains(".symtab"), "stripped: no symbol table")
        #expect(!sections.stdout.contains(".debug_"), "stripped: no debug sections")
        let libraries = try await Command.run("/usr/bin/ldd", [binary])
        #expect(libraries.status == 0, "\(libraries.stderr)")
        for swiftOnly in ["libswift", "libFoundation", "libdispatch", "libBlocksRuntime", "/opt/swift"] {
            #expect(!libraries.stdout.contains(swiftOnly), "\(swiftOnly) in \(libraries.stdout)")
        }
        var info = stat()
        #expect(stat(binary, &info) == 0)
        print("release binary: \(info.st_size) bytes (\(info.st_size >> 20) MiB); needs \(libraries.stdout)")
    }

    /// In a mount namespace where the toolchain's folder is an empty tmpfs (as on a machine that
    /// never had it), the binary mounts a demo, uploads, reads back by id and unmounts.
    @Test(.enabled(if: getuid() == 0)) func itRunsWithoutTheSwiftToolchain() async throws {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        let toolchain = URL(fileURLWithPath: try #require(Command.which("swift"))).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let script = """
            set -e
            mount -t tmpfs none '\(toolchain)'
            if command -v swift; then echo "swift is still there" >&2; exit 3; fi
            B='\(binary)'; M='\(folder)/mnt'; mkdir -p "$M"
            "$B" mount "$M" --emulator --cache-dir '\(folder)/cache' >/dev/null
            cp '\(Samples.path("cat.jpg"))' "$M/image/cat.jpg"
            cmp '\(Samples.path("cat.jpg"))' "$M/by-id/$(cat "$M/image/cat.jpg.media_id")"
            "$B" unmount "$M"
            echo "ran without \(toolchain)"
            """
        let result = try await Command.run(
            "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/bash", "-c", script])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.hasSuffix("ran without \(toolchain)\n"), "\(result.stdout)\n\(result.stderr)")
    }
}
