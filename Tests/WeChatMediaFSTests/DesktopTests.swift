import EmulatorTestSupport
import Foundation
import Testing

/// What file managers do, through GIO (the library under GNOME's Files, Thunar and PCManFM):
/// list, inspect, copy in, and try to trash; and the names desktops probe for in every folder.
@Suite("Desktop: gio and file-manager probes")
struct DesktopTests {
    @Test func gioListsInspectsAndCopiesAndTrashIsRefusedCleanly() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                cp "$S/cat.jpg" "$M/image/cat.jpg"
                gio copy "$S/thumb.jpg" "$M/image/g.jpg"; echo "copy: $?"
                cmp "$S/thumb.jpg" "$M/image/g.jpg" && echo "same bytes"
                gio list "$M/image" | sort
                gio info -a standard::size,standard::content-type,xattr::wechat.type "$M/image/g.jpg"
                gio trash "$M/image/g.jpg"; echo "trash: $?"
                ls -A "$M" "$M/image"
                """#)
            #expect(result.stdout.contains("copy: 0"), "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("same bytes"))
            #expect(result.stdout.contains("cat.jpg\ncat.jpg.media_id\ng.jpg\ng.jpg.media_id\n"), "\(result.stdout)")
            #expect(result.stdout.contains("standard::size: 1492"))
            #expect(result.stdout.contains("standard::content-type: image/jpeg"))
            #expect(result.stdout.contains("xattr::wechat.type: image"))
            #expect(result.stdout.contains("trash: 1"), "trash is refused")
            #expect(result.stderr.contains("trash"), "with a message: \(result.stderr)")
            #expect(
                result.stdout.contains("by-id\ndrafts\nimage\nmaterial\npublished\nthumb\nvideo\nvoice\n"), "no .Trash-0 left at the root")
            #expect(
                result.stdout.hasSuffix("cat.jpg\ncat.jpg.media_id\ng.jpg\ng.jpg.media_id\n"), "g.jpg is still there")
        }
    }

    /// Listing and inspecting never download media; desktop probes are answered without asking
    /// the server, and (being cached) mostly without asking the daemon twice.
    @Test func listingAndProbingNeverReachTheServer() async throws {
        try await MountFixture.with(arguments: ["--cache-max-size", "1"]) { m in
            // A cache of one byte: the upload's bytes are evicted, so only a download could read them.
            let setup = try await m.shell(#"cp "$S/cat.jpg" "$M/image/cat.jpg" && cat "$M/image/cat.jpg.media_id""#)
            #expect(setup.status == 0, "\(setup.stderr)")
            let id = setup.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let before = try await m.emulator.counters()
            let result = try await m.shell(
                #"""
                for folder in "$M" "$M/image" "$M/by-id"; do
                    for probe in .Trash .Trash-0 .hidden .directory .xdg-volume-info autorun.inf .DS_Store; do
                        stat "$folder/$probe" >/dev/null 2>&1 && echo "found $folder/$probe"
                    done
                done
                ls -l "$M/image" "$M/by-id" >/dev/null
                gio list -a standard::size,standard::name,time::modified "$M/image" "$M/by-id" >/dev/null
                gio info -a standard::size "$M/image/cat.jpg" >/dev/null
                getfattr -d "$M/image/cat.jpg" >/dev/null
                stat "$M/by-id/\#(id)" >/dev/null
                echo done
                """#)
            #expect(result.stdout == "done\n", "\(result.stdout)\n\(result.stderr)")
            let after = try await m.emulator.counters()
            #expect(after["get"] == before["get"], "no download: \(before) -> \(after)")
            #expect(after["upload"] == before["upload"])
            #expect(!m.log.contains("downloaded "), "\(m.log)")
        }
    }
}
