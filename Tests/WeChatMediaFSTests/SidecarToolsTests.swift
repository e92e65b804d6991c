import EmulatorTestSupport
import Foundation
import Testing

/// Tools that mirror and restore trees meet the sidecars as files: they write and remove them,
/// and must exit 0 while the sidecars keep telling the real ids. (`cp -r` and `mv` of a tree
/// into the mount create each name with O_EXCL, which the kernel refuses for a sidecar that
/// appeared when its file was copied: those still fail on the sidecars.)
@Suite("Mount: sidecars under rsync --delete and a restore with shutil.copytree")
struct SidecarToolsTests {
    @Test func mirroringAndRestoringTreesSucceed() async throws {
        try await MountFixture.with { m in
            let scratch = try TemporaryDirectory.make()
            let result = try await m.shell(
                #"""
                set -e
                mkdir '\#(scratch)/src'
                cp "$S/cat.jpg" '\#(scratch)/src/a.jpg'; cp "$S/thumb.jpg" '\#(scratch)/src/b.jpg'
                rsync -a --delete '\#(scratch)/src/' "$M/image/rs/"
                # The second run sees sidecars the source lacks and deletes them: that must not fail.
                rsync -a --delete '\#(scratch)/src/' "$M/image/rs/"
                test -s "$M/image/rs/a.jpg.media_id"
                echo rsync-ok

                mkdir "$M/thumb/dir"; cp "$S/thumb.jpg" "$M/thumb/dir/t.jpg"
                cp -r "$M/thumb/dir" '\#(scratch)/backup'
                test -f '\#(scratch)/backup/t.jpg.media_id'
                # copytree opens each name with O_TRUNC: the sidecar it writes is accepted, unchanged.
                python3 -c 'import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])' '\#(scratch)/backup' "$M/thumb/copytree"
                test "$(cat "$M/thumb/copytree/t.jpg.media_id")" != "$(cat '\#(scratch)/backup/t.jpg.media_id')"
                cmp "$S/thumb.jpg" "$M/thumb/copytree/t.jpg"
                echo restore-ok
                """#)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
            #expect(result.stdout.contains("rsync-ok\nrestore-ok"), "\(result.stdout)")
        }
    }

    /// With `--sidecars off` nothing is found under a sidecar name, so `cp -r` and `mv` of a tree
    /// that holds sidecars (a backup taken from a visible-sidecar mount) exit 0, whatever order
    /// they copy in; the ids are in `user.wechat.media_id`. The same `cp -r` into a default mount
    /// still fails on the sidecars (the kernel's O_EXCL), which is why the option exists.
    @Test func withSidecarsOffTreeCopiesOfABackupSucceed() async throws {
        let scratch = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let backup = scratch + "/backup"
        try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
        for (name, bytes) in [
            ("cat.jpg", Samples.bytes("cat.jpg")), ("cat.jpg.media_id", Array("OLDID1\n".utf8)),
            ("thumb.jpg", Samples.bytes("thumb.jpg")), ("thumb.jpg.media_id", Array("OLDID2\n".utf8)),
            ("orphan.jpg.media_id", Array("OLDID3\n".utf8)),
        ] {
            try Data(bytes).write(to: URL(fileURLWithPath: backup + "/" + name))
        }
        try await MountFixture.with { m in
            let visible = try await m.shell(#"cp -r '\#(backup)' "$M/image/x""#)
            #expect(visible.status != 0, "a default mount refuses the sidecars' O_EXCL: \(visible.stderr)")
        }
        try await MountFixture.with(arguments: ["--sidecars", "off"]) { m in
            let result = try await m.shell(
                #"""
                set -e
                cp -r '\#(backup)' "$M/image/x"
                ls "$M/image/x"
                cmp "$S/cat.jpg" "$M/image/x/cat.jpg"
                getfattr --only-values -n user.wechat.media_id "$M/image/x/cat.jpg" > /dev/null
                echo copied
                mv "$M/image/x" "$M/thumb/x"
                ls "$M/thumb/x"; ls "$M/image"
                python3 -c 'import shutil, sys; shutil.copytree(sys.argv[1], sys.argv[2])' '\#(backup)' "$M/image/tree"
                ls "$M/image/tree"
                # Just written, the names are found for a minute (copy2 sets their times by path).
                test -e "$M/image/tree/cat.jpg.media_id"
                echo done
                """#)
            #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
            #expect(
                result.stdout == "cat.jpg\nthumb.jpg\ncopied\ncat.jpg\nthumb.jpg\ncat.jpg\nthumb.jpg\ndone\n",
                "\(result.stdout)")
        }
    }
}
