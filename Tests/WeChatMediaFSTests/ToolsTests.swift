import EmulatorTestSupport
import Foundation
import Testing

@Suite("Mount: rsync, tar, cp -a, shutil, mv, rm, overwrite, placeholders")
struct ToolsTests {
    /// A source tree of real media with fixed modes (a.jpg read-only) and modification times,
    /// made outside the mount.
    func sourceTree(_ m: MountFixture) async throws -> String {
        let folder = try TemporaryDirectory.make() + "/src"
        let result = try await m.shell(
            #"""
            set -e
            mkdir -p '\#(folder)/sub'
            cp "$S/cat.jpg" '\#(folder)/a.jpg'; cp "$S/thumb.jpg" '\#(folder)/b.jpg'; cp "$S/cat.jpg" '\#(folder)/sub/c.jpg'
            chmod 444 '\#(folder)/a.jpg'; chmod 600 '\#(folder)/b.jpg'
            touch -d '2020-01-02 03:04:05 UTC' '\#(folder)/a.jpg' '\#(folder)/b.jpg' '\#(folder)/sub/c.jpg'
            """#)
        #expect(result.status == 0, "\(result.stderr)")
        return folder
    }

    @Test func rsyncArchiveWritesTempFilesRenamesThemAndKeepsTimesAndModes() async throws {
        try await MountFixture.with { m in
            let source = try await sourceTree(m)
            let result = try await m.shell(
                #"""
                set -e
                rsync -a '\#(source)/' "$M/image/album/"
                stat -c '%n %s %a %Y' "$M/image/album/a.jpg" "$M/image/album/b.jpg" "$M/image/album/sub/c.jpg"
                (cd '\#(source)' && stat -c 'source %n %s %a %Y' a.jpg b.jpg sub/c.jpg)
                ls -A "$M/image/album"
                cmp '\#(source)/sub/c.jpg' "$M/image/album/sub/c.jpg"
                rsync -a '\#(source)/' "$M/image/album/"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            // rsync -a keeps size, mode and mtime: each copy stats exactly as its source does.
            let album = m.path("image/album")
            for name in ["a.jpg", "b.jpg", "sub/c.jpg"] {
                let source = result.stdout.split(separator: "\n").first { $0.hasPrefix("source \(name) ") }
                let kept = try #require(source?.dropFirst("source \(name) ".count), "\(result.stdout)")
                #expect(result.stdout.contains("\(album)/\(name) \(kept)\n"), "\(result.stdout)")
            }
            #expect(result.stdout.contains("source a.jpg 9059 444 1577934245\nsource b.jpg 1492 600 1577934245\n"))
            let times = try await m.shell(#"stat -c '%Y' "$M/image/album/a.jpg"; stat -c '%Y' '\#(source)/a.jpg'"#)
            let pair = times.stdout.split(separator: "\n")
            #expect(pair.count == 2 && pair[0] == pair[1], "mtime kept: \(times.stdout)")
            #expect(result.stdout.contains("a.jpg\na.jpg.media_id\nb.jpg\nb.jpg.media_id\nsub\n"))
            #expect(!result.stdout.contains(".a.jpg."), "no rsync temp name left")
            // The second rsync found nothing to do: still three uploads.
            #expect(try await m.emulator.counters()["upload"] == 3)
        }
    }

    @Test func tarExtractsIntoTheMount() async throws {
        try await MountFixture.with { m in
            let source = try await sourceTree(m)
            let result = try await m.shell(
                #"""
                set -e
                tar -C '\#(source)' -cf '\#(source)/../a.tar' .
                tar -C "$M/thumb" -xf '\#(source)/../a.tar'
                ls -A "$M/thumb" "$M/thumb/sub"
                cmp "$S/thumb.jpg" "$M/thumb/b.jpg"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("b.jpg.media_id"))
            #expect(result.stdout.contains("c.jpg.media_id"))
        }
    }

    @Test func cpArchiveAndPythonCopy2KeepMetadata() async throws {
        try await MountFixture.with { m in
            let source = try await sourceTree(m)
            let result = try await m.shell(
                #"""
                set -e
                cp -a '\#(source)' "$M/image/copied"
                python3 -c 'import shutil,sys; shutil.copy2(sys.argv[1], sys.argv[2])' '\#(source)/a.jpg' "$M/image/py.jpg"
                stat -c '%Y %a' '\#(source)/b.jpg' "$M/image/copied/b.jpg" '\#(source)/a.jpg' "$M/image/py.jpg"
                cat "$M/image/py.jpg.media_id" >/dev/null
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.count == 4 && lines[0] == lines[1] && lines[2] == lines[3], "\(result.stdout)")
        }
    }

    @Test func renameWithinAFolderIsMetadataOnlyAndAcrossFoldersCopies() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/cat.jpg"; id=$(cat "$M/image/cat.jpg.media_id")
                mkdir "$M/image/2024"
                mv "$M/image/cat.jpg" "$M/image/2024/kitty.jpg"
                test "$(cat "$M/image/2024/kitty.jpg.media_id")" = "$id"
                test ! -e "$M/image/cat.jpg" && test ! -e "$M/image/cat.jpg.media_id"
                mv "$M/image/2024/kitty.jpg" "$M/thumb/kitty.jpg"
                test -e "$M/thumb/kitty.jpg.media_id" && test ! -e "$M/image/2024/kitty.jpg"
                test "$(cat "$M/thumb/kitty.jpg.media_id")" != "$id"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                try await m.emulator.counters()["upload"] == 2,
                "the rename in image/ uploaded nothing; the move to thumb/ did")
            let direct = try await m.shell(
                #"python3 -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$M/thumb/kitty.jpg" "$M/image/k.jpg""#
            )
            #expect(direct.stderr.contains("Invalid cross-device link"), "\(direct.stderr)")
        }
    }

    @Test func overwriteUploadsAgainAndAFailedOverwriteKeepsThePrevious() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/x.jpg"; first=$(cat "$M/image/x.jpg.media_id")
                cp "$S/thumb.jpg" "$M/image/x.jpg"; second=$(cat "$M/image/x.jpg.media_id")
                test "$first" != "$second"
                cmp "$S/thumb.jpg" "$M/image/x.jpg"
                if cp "$S/cat.png" "$M/image/x.jpg"; then echo "png accepted"; exit 1; fi
                test "$(cat "$M/image/x.jpg.media_id")" = "$second"
                cmp "$S/thumb.jpg" "$M/image/x.jpg"
                """#)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        }
    }

    @Test func emptyFilesArePlaceholdersAndRmForgets() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                set -e
                touch "$M/voice/later.mp3"
                ls -A "$M/voice"
                test ! -e "$M/voice/later.mp3.media_id"
                cp "$S/hello.mp3" "$M/voice/later.mp3"
                test -e "$M/voice/later.mp3.media_id"
                rm "$M/voice/later.mp3"
                ls -A "$M/voice" | wc -l
                mkdir -p "$M/voice/a/b/c" && rmdir "$M/voice/a/b/c"
                if rmdir "$M/voice/a"; then exit 1; fi
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("later.mp3\n"))
            #expect(result.stdout.contains("\n0\n"))
            #expect(try await m.emulator.counters()["upload"] == 1)
        }
    }

    @Test func namesOfEveryKindWorkAndForbiddenOnesAreRefused() async throws {
        try await MountFixture.with { m in
            // The longest name with a sidecar of at most 255 bytes: 246 + ".media_id".
            let long = String(repeating: "n", count: 242) + ".jpg"
            let result = try await m.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/with space.jpg"
                cp "$S/cat.jpg" "$M/image/猫 照片.jpg"
                cp "$S/cat.jpg" "$M/image/\#(long)"
                cp "$S/cat.jpg" "$M/image/-dash.jpg"
                ls "$M/image" | wc -l
                if cp "$S/cat.jpg" "$M/image/fake.media_id" 2>/dev/null; then echo "sidecar name accepted"; exit 1; fi
                if ln -s x "$M/image/link" 2>/dev/null; then echo "symlink"; exit 1; fi
                if ln "$M/image/-dash.jpg" "$M/image/hard" 2>/dev/null; then echo "hardlink"; exit 1; fi
                if mkfifo "$M/image/fifo" 2>/dev/null; then echo "fifo"; exit 1; fi
                if touch "$M/new" 2>/dev/null; then echo "root write"; exit 1; fi
                if cp "$S/cat.jpg" "$M/image/n\#(long)" 2>/dev/null; then echo "name with a 256-byte sidecar"; exit 1; fi
                # Writing or removing a sidecar is accepted and changes nothing (cp -r, rsync --delete).
                id=$(cat "$M/image/-dash.jpg.media_id")
                echo x > "$M/image/-dash.jpg.media_id"
                rm "$M/image/-dash.jpg.media_id"
                test "$(cat "$M/image/-dash.jpg.media_id")" = "$id"
                # A name that is not UTF-8 cannot be stored faithfully: EILSEQ says why.
                python3 - "$M/image" <<'PY'
                import errno, os, sys
                for make in (lambda path: open(path, "wb"), os.mkdir):
                    try:
                        make(os.path.join(os.fsencode(sys.argv[1]), b"\xff\xfe.jpg"))
                        sys.exit("a non-UTF-8 name was made")
                    except OSError as error:
                        if error.errno != errno.EILSEQ:
                            sys.exit(f"errno {error.errno} for a non-UTF-8 name")
                PY
                touch "$M/new" 2>&1 || true
                """#)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
            #expect(result.stdout.hasPrefix("8\n"))
            #expect(result.stdout.contains("Read-only file system"))
        }
    }
}
