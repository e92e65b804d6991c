import EmulatorTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Debian package `mount-scripts/build-deb.sh` builds (`WXMEDIAFS_DEB`, set by
/// mount-scripts/test.sh, which builds it as root; the suite is off without it): installed with
/// dpkg on this machine, it mounts the demo with the installed binary, and goes again with
/// nothing left; lintian finds no error in it.
@Suite(
    "The Debian package",
    .serialized,
    .enabled(if: getuid() == 0 && !(ProcessInfo.processInfo.environment["WXMEDIAFS_DEB"] ?? "").isEmpty))
struct DebianPackageTests {
    let package = ProcessInfo.processInfo.environment["WXMEDIAFS_DEB"] ?? ""

    @Test func itHoldsWhatAnOperatorNeeds() async throws {
        let listing = try await Command.run("/usr/bin/dpkg-deb", ["--contents", package])
        #expect(listing.status == 0, "\(listing.stderr)")
        for path in [
            "./usr/bin/wxmediafs", "./usr/sbin/mount.wxmediafs", "./usr/lib/systemd/system/wxmediafs@.service",
            "./usr/share/man/man1/wxmediafs.1.gz", "./usr/share/bash-completion/completions/wxmediafs",
            "./usr/share/zsh/vendor-completions/_wxmediafs", "./usr/share/fish/vendor_completions.d/wxmediafs.fish",
            "./usr/share/doc/wxmediafs/README.md", "./usr/share/doc/wxmediafs/docs/semantics.md",
            "./usr/share/doc/wxmediafs/copyright", "./usr/share/doc/wxmediafs/changelog.gz",
        ] {
            #expect(listing.stdout.contains(" \(path)\n"), "\(path) is not in the package")
        }
        let control = try await Command.run("/usr/bin/dpkg-deb", ["--field", package, "Depends"])
        for library in ["libc6", "libfuse3", "libsqlite3-0", "fuse3"] {
            #expect(control.stdout.contains(library), "Depends names \(library): \(control.stdout)")
        }
        print("Debian package: \(package)\n\(listing.stdout)Depends: \(control.stdout)")
    }

    @Test func itInstallsMountsTheDemoAndRemovesCleanly() async throws {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        // mount-scripts/install.sh put the mount helper and the completions where the package
        // puts them: they are kept aside and put back, so the other tests find them.
        let shared = [
            "/usr/sbin/mount.wxmediafs", "/usr/share/bash-completion/completions/wxmediafs",
            "/usr/share/zsh/vendor-completions/_wxmediafs", "/usr/share/fish/vendor_completions.d/wxmediafs.fish",
        ].joined(separator: " ")
        // Traced (set -x), so a failure says which step failed.
        let script = """
            set -ex
            saved='\(folder)/saved'; mkdir -p "$saved"
            for path in \(shared); do if [ -e "$path" ]; then mkdir -p "$saved$(dirname "$path")"; cp -a "$path" "$saved$path"; fi; done
            restore() {
                dpkg --purge wxmediafs >/dev/null 2>&1 || true
                # The purge also removes the folders it held that are now empty.
                for path in \(shared); do
                    if [ -e "$saved$path" ]; then mkdir -p "$(dirname "$path")"; cp -a "$saved$path" "$path"; fi
                done
            }
            trap restore EXIT
            dpkg -i '\(package)' >/dev/null
            B=/usr/bin/wxmediafs; M='\(folder)/mnt'; mkdir -p "$M"
            "$B" --version
            test -x /sbin/mount.wxmediafs
            zcat /usr/share/man/man1/wxmediafs.1.gz | grep -q '^.Nm wxmediafs'
            "$B" mount "$M" --emulator --cache-dir '\(folder)/cache' >/dev/null
            cp '\(Samples.path("cat.jpg"))' "$M/image/cat.jpg"
            cmp '\(Samples.path("cat.jpg"))' "$M/by-id/$(cat "$M/image/cat.jpg.media_id")"
            "$B" unmount "$M"
            dpkg --purge wxmediafs >/dev/null
            for path in /usr/bin/wxmediafs /usr/sbin/mount.wxmediafs /usr/lib/systemd/system/wxmediafs@.service \\
                /usr/share/man/man1/wxmediafs.1.gz /usr/share/doc/wxmediafs; do
                if [ -e "$path" ]; then echo "left behind: $path" >&2; exit 4; fi
            done
            echo "installed, mounted, removed"
            """
        let result = try await Command.run("/bin/bash", ["-c", script])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.hasPrefix("wxmediafs "), "--version: \(result.stdout)")
        #expect(result.stdout.hasSuffix("installed, mounted, removed\n"), "\(result.stdout)\n\(result.stderr)")
    }

    @Test func lintianFindsNoError() async throws {
        let lintian = try #require(
            Command.which("lintian"), "lintian is installed by mount-scripts/setup-system.sh --tests")
        let result = try await Command.run(lintian, ["--fail-on", "error", "--tag-display-limit", "0", package])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        print("lintian: \(result.stdout.isEmpty ? "no tags" : result.stdout)")
    }
}
