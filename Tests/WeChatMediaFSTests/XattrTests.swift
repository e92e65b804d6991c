import EmulatorTestSupport
import Foundation
import Testing

@Suite("Extended attributes: user.wechat.*, stored user.*, cp --preserve=all, rsync -aX")
struct XattrTests {
    @Test func uploadedFilesAndByIDEntriesDescribeTheirMedia() async throws {
        try await MountFixture.with { m in
            let result = try await m.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/cat.jpg"
                id=$(cat "$M/image/cat.jpg.media_id")
                getfattr -d --absolute-names "$M/image/cat.jpg"
                echo "--- by-id"
                getfattr -d --absolute-names "$M/by-id/$id"
                echo "--- list"
                getfattr --absolute-names -m - "$M/image/cat.jpg"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            let id = String(decoding: m.contents("image/cat.jpg.media_id") ?? [], as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let parts = result.stdout.components(separatedBy: "--- by-id")
            for part in parts {
                #expect(part.contains("user.wechat.media_id=\"\(id)\""), "\(part)")
                #expect(part.contains("user.wechat.type=\"image\""), "\(part)")
                #expect(
                    part.range(
                        of: #"user\.wechat\.created_at="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ""#, options: .regularExpression)
                        != nil, "\(part)")
                #expect(part.contains("user.wechat.expires_at=\""), "\(part)")
            }
            #expect(!result.stdout.contains("status_socket"), "the mount's own attribute is not listed")
        }
    }

    @Test func otherUserAttributesAreStoredAndOutliveTheMount() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let first = try await MountFixture.start(emulator: emulator, folder: folder)
            let set = try await first.shell(
                #"""
                set -e
                cp "$S/cat.jpg" "$M/image/cat.jpg"
                setfattr -n user.color -v blue "$M/image/cat.jpg"
                setfattr -n user.note -v "kept in the catalog" "$M/image/cat.jpg"
                setfattr -x user.note "$M/image/cat.jpg"
                setfattr -x user.wechat.media_id "$M/image/cat.jpg"
                getfattr -n user.wechat.media_id "$M/image/cat.jpg" >/dev/null && echo "user.wechat.* stays"
                setfattr -n trusted.x -v 1 "$M/image/cat.jpg" 2>&1 || echo "trusted.* refused"
                """#)
            #expect(set.status == 0, "\(set.stderr)")
            #expect(
                set.stdout.contains("user.wechat.* stays") && set.stdout.contains("trusted.* refused"), "\(set.stdout)")
            try await first.stop()
            let second = try await MountFixture.start(emulator: emulator, folder: folder)
            let read = try await second.shell(#"getfattr -d --absolute-names "$M/image/cat.jpg""#)
            try await second.stop()
            #expect(read.stdout.contains("user.color=\"blue\""), "\(read.stdout)")
            #expect(!read.stdout.contains("user.note"))
        }
    }

    @Test func cpPreserveAllAndRsyncXCarryUserAttributes() async throws {
        try await MountFixture.with { m in
            let source = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: source) }
            let result = try await m.shell(
                #"""
                set -e
                src='\#(source)'
                mkdir -p "$src/tree"
                cp "$S/cat.jpg" "$src/tree/a.jpg"; cp "$S/thumb.jpg" "$src/tree/b.jpg"
                setfattr -n user.origin -v camera "$src/tree/a.jpg"
                setfattr -n user.origin -v scanner "$src/tree/b.jpg"
                cp --preserve=all "$src/tree/a.jpg" "$M/image/kept.jpg"
                rsync -aX "$src/tree/" "$M/image/synced/"
                getfattr -n user.origin --only-values "$M/image/kept.jpg"; echo
                getfattr -n user.origin --only-values "$M/image/synced/a.jpg"; echo
                getfattr -n user.origin --only-values "$M/image/synced/b.jpg"; echo
                cmp "$src/tree/b.jpg" "$M/image/synced/b.jpg"
                rsync -aX "$src/tree/" "$M/image/synced/"
                """#)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "camera\ncamera\nscanner\n", "\(result.stdout)")
            #expect(try await m.emulator.counters()["upload"] == 3, "the second rsync -aX uploads nothing")
        }
    }
}
