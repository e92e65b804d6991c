import EmulatorTestSupport
import Foundation
import Testing
import WeChatMedia

/// `/drafts/` and `/published/` through a real mount (issue 24): `cp -r` of the example folder
/// in the repository builds one draft by itself once the folder is quiet; an editor-style save
/// (a temporary name renamed over the article) updates it; `mv` to `/published/` is refused
/// without `--allow-publish` and publishes with it; `wxmediafs status` and `sync` tell a folder
/// that fails.
@Suite("Article folders through a mount")
struct ArticleFolderMountTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples/article-folder").path

    static func attribute(_ mount: MountFixture, _ path: String, _ name: String) async throws -> String {
        try await mount.shell(#"getfattr --only-values -n \#(name) "$M/\#(path)" 2>/dev/null"#).stdout
    }

    static func waitForState(_ mount: MountFixture, _ path: String, _ state: String) async throws -> Bool {
        try await eventually(within: .seconds(60), every: .milliseconds(200)) {
            try await attribute(mount, path, "user.wechat.state") == state
        }
    }

    @Test func cpDashRBuildsOneDraftAnEditorSaveUpdatesItAndMvNeedsAllowPublish() async throws {
        try await MountFixture.with(limits: .current, arguments: ["--draft-settle", "2s"]) { mount in
            let copied = try await mount.shell(
                #"""
                set -e
                ls "$M"
                cp -r "\#(Self.example)" "$M/drafts/cat-week"
                ls "$M/drafts/cat-week"
                """#)
            #expect(copied.status == 0, "\(copied.stderr)")
            #expect(copied.stdout.hasPrefix("by-id\ndrafts\nimage\nmaterial\npublished\n"), "\(copied.stdout)")
            #expect(try await Self.waitForState(mount, "drafts/cat-week", "built"), "\(mount.log)")
            var counters = try await mount.emulator.counters()
            #expect(
                counters["draft_add"] == 1 && counters["uploadimg"] == 2 && counters["add_material"] == 3, "\(counters)"
            )
            let draftID = try await Self.attribute(mount, "drafts/cat-week", "user.wechat.media_id")
            #expect(OpaqueID.isWellFormed(draftID, maxLength: 128), "\(draftID)")

            // vim-style save: write a temporary name, rename it over the article.
            let saved = try await mount.shell(
                #"""
                set -e
                cd "$M/drafts/cat-week"
                sed 's/The big picture/The bigger picture/' 2-the-big-picture.md > .2-the-big-picture.md.swp
                mv .2-the-big-picture.md.swp 2-the-big-picture.md
                "\#(Command.wxmediafsPath)" sync "$M"
                """#)
            #expect(saved.status == 0, "\(saved.stderr)")
            counters = try await mount.emulator.counters()
            #expect(counters["draft_update"] == 1 && counters["draft_add"] == 1, "\(counters)")
            let titles = try await mount.emulator.makeClient().getDraft(mediaID: draftID).map(\.title)
            #expect(titles == ["A day of the cat", "The bigger picture"])

            let refused = try await mount.shell(#"mv "$M/drafts/cat-week" "$M/published/" 2>&1; echo "exit $?""#)
            #expect(
                refused.stdout.contains("Operation not permitted") && refused.stdout.contains("exit 1"),
                "\(refused.stdout)")
            #expect(try await mount.emulator.counters()["freepublish_submit"] ?? 0 == 0)

            // A front matter error: cp fails with the errno, status and sync tell the reason.
            let broken = try await mount.shell(
                #"""
                mkdir "$M/drafts/broken"
                T=$(mktemp -d)
                printf -- '---\ntitle: Broken\nautor: me\n---\nHi\n' > "$T/a.md"
                cp "$T/a.md" "$M/drafts/broken/a.md"; echo "write $?"
                rm -r "$T"
                "\#(Command.wxmediafsPath)" sync "$M"; echo "sync $?"
                """#)
            #expect(broken.stdout.contains("write 1") && broken.stdout.contains("sync 1"), "\(broken.stdout)")
            #expect(broken.stderr.contains("Invalid argument"), "\(broken.stderr)")
            #expect(broken.stdout.contains("drafts/broken") || broken.stderr.contains("drafts/broken"))
            let status = try await mount.status()
            #expect(
                status.stdout.contains("Draft drafts/broken: failed, a.md: unknown front matter key 'autor'"),
                "\(status.stdout)")
        }
    }

    @Test func withAllowPublishMvPublishesTheStateEndsPublishedAndRmDashRRemovesNothing() async throws {
        try await MountFixture.with(
            limits: .current,
            arguments: ["--allow-publish", "--draft-settle", "60s", "--metrics-address", "127.0.0.1:0"]
        ) {
            mount in
            try await mount.emulator.control(.POST, "publish/seconds?seconds=0")
            let moved = try await mount.shell(
                #"""
                set -e
                cp -r "\#(Self.example)" "$M/drafts/post"
                mv "$M/drafts/post" "$M/published/post"
                ls "$M/drafts" "$M/published"
                """#)
            #expect(moved.status == 0, "\(moved.stderr)")
            #expect(try await mount.emulator.counters()["freepublish_submit"] == 1)
            // The mount polls 10 s after the submit.
            #expect(try await Self.waitForState(mount, "published/post", "published"), "\(mount.log)")
            let urls = try await Self.attribute(mount, "published/post", "user.wechat.article_url")
            #expect(urls.split(separator: "\n").count == 2 && urls.hasPrefix(mount.emulator.baseURL), "\(urls)")

            // The polls, against the day's budget (90 by default), and the build, in metrics.
            let scrape = try await Scrape.fetch(try await mount.metricsURL())
            let polls = try #require(scrape.value("wxmediafs_publish_polls_total"))
            let asked = try await mount.emulator.counters()["freepublish_get"] ?? -1
            #expect(polls >= 1 && polls == Double(asked))
            #expect(scrape.value("wxmediafs_publish_poll_budget_remaining") == 90 - polls)
            #expect(scrape.value("wxmediafs_publishing_jobs") == 0)
            #expect(scrape.value("wxmediafs_draft_builds_total", ["outcome": "built"]) == 1)

            // `rm -r` of a published folder removes nothing: its files go only with the folder,
            // by `rmdir` on a mount given --allow-delete (this one is not), and the log says so.
            let before = try await mount.shell(#"ls -A "$M/published/post""#)
            let removed = try await mount.shell(#"rm -r "$M/published/post""#)
            #expect(removed.status != 0 && removed.stderr.contains("Operation not permitted"), "\(removed.stderr)")
            let after = try await mount.shell(#"ls -A "$M/published/post""#)
            #expect(before.status == 0 && !before.stdout.isEmpty && after.stdout == before.stdout, "\(after.stdout)")
            #expect(try await Self.attribute(mount, "published/post", "user.wechat.state") == "published")
            #expect(try await mount.emulator.counters()["freepublish_delete"] ?? 0 == 0)
            #expect(mount.log.contains("a published folder is removed whole, by rmdir of the folder"), "\(mount.log)")
        }
    }
}
