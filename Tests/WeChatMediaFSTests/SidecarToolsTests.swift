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
}
