import EmulatorTestSupport
import FUSEKit
import Foundation
import MediaCatalog
import Testing
import WeChatEmulator
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// `/drafts/` and `/published/` through the filesystem's methods, against the in-process
/// emulator (issue 24): the example folder built once in any copy order, with the requests it
/// costs; an edit as one `draft/update`; rule errors as errnos and reasons; waiting for a
/// picture; publishing only with `--allow-publish`, to `published` or `publish-failed`; the
/// poll budget; a remount.
@Suite("Article folders")
struct DraftsTreeTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples/article-folder").path

    static func exampleFile(_ name: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: example + "/" + name) ?? Data())
    }

    static var exampleNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: example)) ?? []).sorted()
    }

    static func with<T>(
        settle: Duration = .seconds(3600), allowPublish: Bool = false, allowDelete: Bool = false,
        pollsPerDay: Int = 90, dailyQuota: DailyQuota? = nil, backend: CatalogBackend = .sqlite,
        retry: RetryPolicy = .default, retryDelay: Duration = .seconds(30),
        _ body: (CoreFixture, EmulatorFixture) async throws -> T
    ) async throws -> T {
        try await EmulatorFixture.with(limits: .current, dailyQuota: dailyQuota) { emulator in
            var settings = CoreFixture.defaultSettings
            settings.draftSettle = settle
            settings.allowPublish = allowPublish
            settings.allowDelete = allowDelete
            settings.publishPollsPerDay = pollsPerDay
            settings.draftRetryDelay = retryDelay
            let clock = ManualClock(seconds: Int64(Date().timeIntervalSince1970))
            let core = try await CoreFixture.make(
                clock: clock, service: emulator.makeClient(rules: .current, retry: retry), settings: settings,
                backend: backend)
            return try await using(core, stop: { await $0.close() }) { core in try await body(core, emulator) }
        }
    }

    /// Runs `body` while the filesystem's maintenance runs (as the mount's does), and ends it after.
    static func maintaining<T: Sendable>(_ core: CoreFixture, _ body: () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await core.fileSystem.maintain() }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    static func xattr(_ core: CoreFixture, _ path: String, _ name: String) async throws -> String? {
        try await MaterialTreeTests.xattr(core, path, name)
    }

    static func state(_ core: CoreFixture, _ path: String) async throws -> String? {
        try await xattr(core, path, "user.wechat.state")
    }

    /// `fsync` of the folder: builds now what waits for quiet; the build's errno, or nil.
    static func fsync(_ core: CoreFixture, _ path: String) async throws -> Int32? {
        let inode = try #require(try await core.inode(path))
        return await CoreFixture.errno { try await core.fileSystem.fsync(inode: inode, handle: 0) }
    }

    static func copyExample(_ core: CoreFixture, to folder: String, order: [String]) async throws {
        try await core.mkdir(folder)
        for name in order { try await core.copy(exampleFile(name), to: folder + "/" + name) }
    }

    static func counters(_ emulator: EmulatorFixture) async throws -> [String: Int] {
        try await emulator.counters()
    }

    /// The orders `cp -r` can take: the listing order of the source folder, which depends on
    /// its filesystem (name order, reverse, hash order): articles first, pictures first, mixed.
    static let orders: [[String]] = {
        let names = exampleNames
        let articles = names.filter { $0.hasSuffix(".md") }
        let pictures = names.filter { !$0.hasSuffix(".md") }
        return [
            names, names.reversed(), pictures + articles, [articles[1]] + pictures + [articles[0]],
            [pictures[2], articles[0], pictures[0], pictures[4], articles[1], pictures[1], pictures[3]],
        ]
    }()

    @Test(arguments: 0..<5) func theExampleFolderBecomesOneDraftInAnyCopyOrder(order: Int) async throws {
        try await Self.with(settle: .seconds(2)) { core, emulator in
            try #require(Self.exampleNames.count == 7)
            let before = try await Self.counters(emulator)
            // No fsync, no sync: the mount's maintenance builds the folder once it has been quiet 2 s.
            let built = try await Self.maintaining(core) {
                try await Self.copyExample(core, to: "drafts/cat-week", order: Self.orders[order])
                return try await eventually(within: .seconds(60), every: .milliseconds(100)) {
                    try await Self.state(core, "drafts/cat-week") == "built"
                }
            }
            let state = try await Self.state(core, "drafts/cat-week")
            #expect(built, "state \(String(describing: state))")
            let after = try await Self.counters(emulator)
            func spent(_ key: String) -> Int { (after[key] ?? 0) - (before[key] ?? 0) }
            #expect(spent("draft_add") == 1 && spent("draft_update") == 0, "\(after)")
            // cat.jpg and shared.png as article images; the GIF, the big photo (also a cover)
            // and cover.jpg as image material: each once, shared.png though two articles show it.
            #expect(spent("uploadimg") == 2 && spent("add_material") == 3, "\(after)")

            let draftID = try #require(try await Self.xattr(core, "drafts/cat-week", "user.wechat.media_id"))
            let articles = try await emulator.makeClient().getDraft(mediaID: draftID)
            #expect(articles.map(\.title) == ["A day of the cat", "The big picture"])
            for article in articles {
                let sources = Self.imageSources(article.content)
                #expect(!sources.isEmpty)
                for src in sources { #expect(src.hasPrefix(emulator.baseURL), "\(src)") }
                // The cover is permanent material: get_material answers it.
                let directory = try TemporaryDirectory.make()
                defer { try? FileManager.default.removeItem(atPath: directory) }
                _ = try await emulator.makeClient().getMaterial(mediaID: article.thumbMediaID, to: directory + "/c")
            }
            #expect(articles[0].needOpenComment && !articles[0].onlyFansCanComment)
            #expect(articles[1].onlyFansCanComment)
            #expect(try await core.list("material/article-images").contains("shared.png"))
        }
    }

    static func imageSources(_ html: String) -> [String] {
        html.components(separatedBy: "<img").dropFirst().compactMap { tag in
            guard let start = tag.range(of: "src=\"") else { return nil }
            return String(tag[start.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test func anEditOfOneArticleIsOneUpdateAndUploadsNothingAgain() async throws {
        try await Self.with { core, emulator in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == nil)
            #expect(try await Self.state(core, "drafts/post") == "built")
            let draftID = try #require(try await Self.xattr(core, "drafts/post", "user.wechat.media_id"))
            let before = try await Self.counters(emulator)

            var text = String(decoding: Self.exampleFile("2-the-big-picture.md"), as: UTF8.self)
            text += "\nOne more line.\n"
            try await core.copy(Array(text.utf8), to: "drafts/post/2-the-big-picture.md")
            #expect(try await Self.fsync(core, "drafts/post") == nil)
            let after = try await Self.counters(emulator)
            func spent(_ key: String) -> Int { (after[key] ?? 0) - (before[key] ?? 0) }
            #expect(spent("draft_update") == 1 && spent("draft_add") == 0, "\(after)")
            #expect(spent("uploadimg") == 0 && spent("add_material") == 0)
            #expect(try await Self.xattr(core, "drafts/post", "user.wechat.media_id") == draftID)
            let articles = try await emulator.makeClient().getDraft(mediaID: draftID)
            #expect(articles[1].content.contains("One more line."))
            #expect(try await core.read("drafts/post/2-the-big-picture.md") == Array(text.utf8))

            // Nothing changed: a save of the same bytes sends nothing.
            try await core.copy(Array(text.utf8), to: "drafts/post/2-the-big-picture.md")
            #expect(try await Self.fsync(core, "drafts/post") == nil)
            #expect(try await Self.counters(emulator)["draft_update"] == after["draft_update"])
        }
    }

    @Test func frontMatterErrorsFailTheArticlesCloseWithEINVALAndTheReason() async throws {
        try await Self.with { core, emulator in
            try await core.mkdir("drafts/bad")
            let title = String(repeating: "t", count: 40)
            let article = "---\ntitle: \(title)\ncover: cover.jpg\n---\nHello.\n"
            let code = await CoreFixture.errno { try await core.copy(Array(article.utf8), to: "drafts/bad/a.md") }
            #expect(code == EINVAL)
            #expect(try await Self.state(core, "drafts/bad") == "failed")
            let error = try #require(try await Self.xattr(core, "drafts/bad", "user.wechat.error"))
            #expect(error.contains("a.md: title is 40 characters, at most 32"), "\(error)")
            // The bytes are kept, to be fixed.
            #expect(try await core.read("drafts/bad/a.md") == Array(article.utf8))
            let status = await core.fileSystem.status(mountpoint: "/m", apiBase: "", startedAt: Date())
            #expect(status.drafts?.first { $0.path == "drafts/bad" }?.state == "failed")
            #expect(status.recentFailures.contains { $0.name == "drafts/bad" && $0.errno == "EINVAL" })

            let typo = "---\ntitel: Hello\n---\nHello.\n"
            #expect(await CoreFixture.errno { try await core.copy(Array(typo.utf8), to: "drafts/bad/a.md") } == EINVAL)
            #expect(
                try await Self.xattr(core, "drafts/bad", "user.wechat.error")?.contains(
                    "unknown front matter key 'titel'") == true)
            // A picture's close is not the article's fault.
            #expect(
                await CoreFixture.errno { try await core.copy(Samples.bytes("cat.jpg"), to: "drafts/bad/cover.jpg") }
                    == nil)
            #expect(try await Self.counters(emulator)["draft_add"] ?? 0 == 0)

            // Fixed, it builds; sync reports no failure of it any more.
            let fixed = "---\ntitle: Fixed\ncover: cover.jpg\n---\nHello.\n"
            try await core.copy(Array(fixed.utf8), to: "drafts/bad/a.md")
            let synced = await core.fileSystem.syncQueuedUploads()
            #expect(synced.failed.isEmpty, "\(synced.failed)")
            #expect(try await Self.state(core, "drafts/bad") == "built")
        }
    }

    @Test func aServerRefusalFailsTheBuildWithItsErrno() async throws {
        try await Self.with { core, _ in
            try await core.mkdir("drafts/cover")
            let article = "---\ntitle: Hi\ncover: /material/image/none.jpg\n---\nHello.\n"
            try await core.copy(Array(article.utf8), to: "drafts/cover/a.md")
            #expect(try await Self.fsync(core, "drafts/cover") == ENOENT)
            #expect(try await Self.xattr(core, "drafts/cover", "user.wechat.error")?.contains("none.jpg") == true)
            let bogus = "---\ntitle: Hi\ncover: abcdefghijklmnopqrstuvwxyz012345\n---\nHello.\n"
            try await core.copy(Array(bogus.utf8), to: "drafts/cover/a.md")
            // The server refuses an id it does not have as a cover (40007).
            #expect(try await Self.fsync(core, "drafts/cover") == ENOENT)
            let synced = await core.fileSystem.syncQueuedUploads()
            #expect(synced.failed.map(\.name) == ["drafts/cover"] && synced.failed.first?.errno == "ENOENT")
        }
    }

    @Test func aMissingPictureIsWaitedForByNameThenBuilt() async throws {
        try await Self.with { core, emulator in
            try await core.mkdir("drafts/wait")
            #expect(try await Self.state(core, "drafts/wait") == "waiting")
            let article = "---\ntitle: Wait\n---\n![cat](cat.jpg)\n\n![more](more.png)\n"
            try await core.copy(Array(article.utf8), to: "drafts/wait/a.md")
            #expect(try await Self.state(core, "drafts/wait") == "waiting")
            #expect(try await Self.xattr(core, "drafts/wait", "user.wechat.waiting_for") == "cat.jpg\nmore.png")
            #expect(try await Self.fsync(core, "drafts/wait") == nil, "nothing to build yet")
            try await core.copy(Samples.bytes("cat.jpg"), to: "drafts/wait/cat.jpg")
            #expect(try await Self.xattr(core, "drafts/wait", "user.wechat.waiting_for") == "more.png")
            let status = await core.fileSystem.status(mountpoint: "/m", apiBase: "", startedAt: Date())
            #expect(status.drafts?.first?.reason == "waiting for more.png")
            #expect(try await Self.counters(emulator)["draft_add"] ?? 0 == 0)
            try await core.copy(Samples.bytes("cat.png"), to: "drafts/wait/more.png")
            #expect(try await Self.state(core, "drafts/wait") == "building")
            #expect(try await Self.fsync(core, "drafts/wait") == nil)
            #expect(try await Self.state(core, "drafts/wait") == "built")
            #expect(try await Self.counters(emulator)["draft_add"] == 1)
        }
    }

    @Test func publishingNeedsTheFlagThenEndsPublishedWithTheArticleURL() async throws {
        try await Self.with { core, _ in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(await CoreFixture.errno { try await core.rename("drafts/post", to: "published/post") } == EPERM)
            #expect(try await core.list("drafts") == ["post"])
            #expect(try await core.list("published") == [])
        }
        try await Self.with(allowPublish: true) { core, emulator in
            try await emulator.control(.POST, "publish/seconds?seconds=60")
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            // The move builds what waits, then submits it.
            try await core.rename("drafts/post", to: "published/post")
            #expect(try await core.list("drafts") == [])
            #expect(try await core.list("published") == ["post"])
            #expect(try await Self.state(core, "published/post") == "publishing")
            #expect(try await Self.xattr(core, "published/post", "user.wechat.publish_status") == "1")
            #expect(await core.fileSystem.pollPublishing() == 0, "not due before 10 s")
            core.clock.advance(seconds: 10)
            #expect(await core.fileSystem.pollPublishing() == 1)
            #expect(try await Self.state(core, "published/post") == "publishing")
            try await emulator.advanceClock(seconds: 60)
            core.clock.advance(seconds: 20)
            #expect(await core.fileSystem.pollPublishing() == 1)
            #expect(try await Self.state(core, "published/post") == "published")
            let urls = try #require(try await Self.xattr(core, "published/post", "user.wechat.article_url"))
            let lines = urls.split(separator: "\n")
            #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix(emulator.baseURL) }, "\(urls)")
            #expect(try await Self.xattr(core, "published/post", "user.wechat.publish_status") == "0")
            core.clock.advance(seconds: 3600)
            #expect(await core.fileSystem.pollPublishing() == 0, "a finished job is not polled")
            // The server's listing now shows the message: it is this folder, not a second one.
            #expect(try await core.list("published") == ["post"])
            #expect(try await Self.counters(emulator)["freepublish_batchget"] == 2)
            // Published articles are deleted from the account only with --allow-delete.
            #expect(await CoreFixture.errno { try await core.rmdir("published/post") } == EPERM)
            #expect(await CoreFixture.errno { try await core.unlink("published/post/cat.jpg") } == EPERM)
            #expect(try await Self.counters(emulator)["freepublish_delete"] ?? 0 == 0)
        }
    }

    /// With nothing publishing, the mount looks for jobs in the catalog only every 30 s; a job it
    /// submits itself is followed at once: polled as soon as it is due, not after that wait.
    @Test func aJobSubmittedWhileNothingWasPublishingIsPolledAsSoonAsItIsDue() async throws {
        try await Self.with(allowPublish: true) { core, emulator in
            try await emulator.control(.POST, "publish/seconds?seconds=0")
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            try await Self.maintaining(core) {
                try await core.rename("drafts/post", to: "published/post")
                core.clock.advance(seconds: 10)  // the first poll falls due
                let published = try await eventually(within: .seconds(15), every: .milliseconds(50)) {
                    try await Self.state(core, "published/post") == "published"
                }
                #expect(published)
            }
            #expect(try await Self.counters(emulator)["freepublish_get"] == 1)
        }
    }

    @Test func aRefusedPublishEndsPublishFailedWithTheReason() async throws {
        try await Self.with(allowPublish: true) { core, emulator in
            try await emulator.control(.POST, "publish/seconds?seconds=0")
            try await emulator.control(.POST, "publish/next", json: #"{"publish_status":4,"fail_idx":[2]}"#)
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            try await core.rename("drafts/post", to: "published/post")
            core.clock.advance(seconds: 10)
            #expect(await core.fileSystem.pollPublishing() == 1)
            #expect(try await Self.state(core, "published/post") == "publish-failed")
            let error = try #require(try await Self.xattr(core, "published/post", "user.wechat.error"))
            #expect(error == "publish_status 4 (refused by review), articles 2", "\(error)")
            let status = await core.fileSystem.status(mountpoint: "/m", apiBase: "", startedAt: Date())
            #expect(status.drafts?.first?.state == "publish-failed")
        }
    }

    @Test func aFolderThatCannotBuildIsNotPublished() async throws {
        try await Self.with(allowPublish: true) { core, emulator in
            try await core.mkdir("drafts/empty")
            #expect(await CoreFixture.errno { try await core.rename("drafts/empty", to: "published/empty") } == EINVAL)
            #expect(try await Self.counters(emulator)["freepublish_submit"] ?? 0 == 0)
        }
    }

    /// A quota for many submits, for jobs that stay publishing.
    static var manySubmits: DailyQuota {
        var quota = DailyQuota.documented(for: .current)
        quota[.publishSubmit] = 1000
        return quota
    }

    /// `count` drafts submitted on the emulator (publishing for weeks), each a folder of
    /// `/published/` due for its first poll; then the clock at the start of the next day
    /// (Beijing time), when the day's budget is whole.
    static func submitPendingJobs(_ count: Int, core: CoreFixture, emulator: EmulatorFixture) async throws {
        try await emulator.control(.POST, "publish/seconds?seconds=2000000")
        let client = emulator.makeClient()
        let cover = try Samples.write(Samples.bytes("cat.jpg"), named: "cover.jpg")
        let thumb = try await client.addMaterial(
            fileAt: cover, as: .image, name: "cover.jpg", title: nil, introduction: nil, progress: { _ in }
        ).mediaID
        let catalog = try #require(core.catalog as? any DraftCatalog)
        for index in 0..<count {
            let draftID = try await client.addDraft([
                DraftArticle(title: "Post \(index)", content: "<p>\(index)</p>", thumbMediaID: thumb)
            ])
            let submission = try await client.submit(draftID: draftID)
            var folder = DraftFolder(
                location: .published, name: "post-\(index)", state: .publishing, mode: 0o755, uid: 0, gid: 0,
                time: core.clock.now())
            folder.draftID = draftID
            folder.publishID = submission.publishID
            folder.nextPollAt = core.clock.seconds
            _ = try await catalog.insertDraftFolder(folder)
        }
        let dayStart = (core.clock.seconds + 8 * 3600) / 86400 * 86400 - 8 * 3600
        core.clock.advance(seconds: dayStart + 86400 - core.clock.seconds)
    }

    /// 150 jobs publishing for a day: never more than the day's budget of polls, the rest the
    /// next day.
    @Test func thePollBudgetHoldsWith150PendingPublishes() async throws {
        try await Self.with(allowPublish: true, pollsPerDay: 90, dailyQuota: Self.manySubmits) { core, emulator in
            try await Self.submitPendingJobs(150, core: core, emulator: emulator)
            let before = try await Self.counters(emulator)["freepublish_get"] ?? 0
            var spent = 0
            for _ in 0..<143 {
                spent += await core.fileSystem.pollPublishing()
                core.clock.advance(seconds: 600)
            }
            let polled = (try await Self.counters(emulator)["freepublish_get"] ?? 0) - before
            #expect(spent == 90 && polled == 90, "spent \(spent), polled \(polled)")
            // The next day has a budget again; the emulator's own day (its clock stood still) has 10
            // of its 100 left: 10 answered, the 11th refused with 45009, and no more asked.
            core.clock.advance(seconds: 600)
            #expect(await core.fileSystem.pollPublishing() == 11)
            #expect((try await Self.counters(emulator)["freepublish_get"] ?? 0) - before == 101)
        }
    }

    @Test(arguments: CatalogBackend.allCases)
    func aRemountKeepsFoldersFilesIDsAndState(backend: CatalogBackend) async throws {
        try await Self.with(backend: backend) { core, _ in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == nil)
            let draftID = try await Self.xattr(core, "drafts/post", "user.wechat.media_id")
            try await core.mkdir("drafts/later")
            try await using(try await core.reopened(), stop: { await $0.catalog.close() }) {
                (again: CoreFixture) async throws in
                #expect(try await again.list("drafts") == ["post", "later"])
                #expect(try await again.list("drafts/post") == Self.exampleNames)
                #expect(try await again.read("drafts/post/cat.jpg") == Self.exampleFile("cat.jpg"))
                #expect(try await Self.state(again, "drafts/post") == "built")
                #expect(try await Self.xattr(again, "drafts/post", "user.wechat.media_id") == draftID)
                #expect(try await Self.state(again, "drafts/later") == "waiting")
            }
        }
    }

    /// A folder whole when its mount stopped, before its build: the next mount builds it,
    /// with no file closed again.
    @Test func aBuildDueWhenTheMountStoppedIsDoneByTheNextMount() async throws {
        try await Self.with(settle: .seconds(1)) { core, emulator in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.state(core, "drafts/post") == "building")
            try await using(try await core.reopened(), stop: { await $0.catalog.close() }) {
                (again: CoreFixture) async throws in
                let built = try await Self.maintaining(again) {
                    try await eventually(within: .seconds(60), every: .milliseconds(100)) {
                        try await Self.state(again, "drafts/post") == "built"
                    }
                }
                #expect(built)
                #expect(try await Self.counters(emulator)["draft_add"] == 1)
            }
        }
    }

    /// A mount whose `endpoint` the server refuses for now (`kind`, an emulator fault), with
    /// builds quiet after 200 ms and tried again after 500 ms. One try per request, each with a
    /// minute: on a machine loaded by the whole suite the big picture's upload once took more
    /// than 10 s, which failed the build for another reason.
    static func withRefusedForNow(
        _ endpoint: String = "draft_add", _ kind: String = "http503",
        _ body: (CoreFixture, EmulatorFixture) async throws -> Void
    ) async throws {
        let once = RetryPolicy(
            maxAttempts: 1, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10), totalTime: .seconds(60))
        try await Self.with(settle: .milliseconds(200), retry: once, retryDelay: .milliseconds(500)) {
            core, emulator in
            try await emulator.setFaults(
                #"{"rules":[{"endpoint":"\#(endpoint)","kind":"\#(kind)","fraction":1.0}]}"#)
            try await body(core, emulator)
        }
    }

    /// A build the server refused for now (HTTP 503 on `draft/add`, on an article picture's
    /// `uploadimg` or a cover's `add_material`, the day's quota on `uploadimg`) is tried again by
    /// itself, with no file saved again, and builds once the server answers.
    @Test(arguments: [
        ("draft_add", "http503", "503"), ("uploadimg", "http503", "503"), ("add_material", "http503", "503"),
        ("uploadimg", "quota", "quota"),
    ])
    func aBuildThatFailedForNowIsTriedAgainByItself(endpoint: String, kind: String, said: String) async throws {
        try await Self.withRefusedForNow(endpoint, kind) { core, emulator in
            try await Self.maintaining(core) {
                try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
                let failed = try await eventually(within: .seconds(60), every: .milliseconds(50)) {
                    try await Self.state(core, "drafts/post") == "failed"
                }
                let error = try await Self.xattr(core, "drafts/post", "user.wechat.error")
                #expect(
                    failed && error?.contains(said) == true && error?.contains("EAGAIN") == true,
                    "\(String(describing: error))")
                // Failed twice at least: tried again by itself while the server refused.
                let refused = try await eventually(within: .seconds(60), every: .milliseconds(50)) {
                    try await emulator.injectedFaults().reduce(0, +) >= 2
                }
                let injected = try await emulator.injectedFaults()
                #expect(refused, "\(injected)")
                try await emulator.control(.DELETE, "faults")
                let built = try await eventually(within: .seconds(60), every: .milliseconds(50)) {
                    try await Self.state(core, "drafts/post") == "built"
                }
                #expect(built)
            }
            // Every draft/add but the last was refused: one draft.
            #expect(try await emulator.makeClient().draftCount() == 1)
        }
    }

    /// A build that failed for now when its mount stopped is tried again by the next mount, with
    /// no file saved again; one the server may have acted on (an answer that is not the API's)
    /// is not.
    @Test func aBuildThatFailedForNowIsTriedAgainByTheNextMount() async throws {
        try await Self.withRefusedForNow { core, emulator in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == EAGAIN)
            let error = try await Self.xattr(core, "drafts/post", "user.wechat.error")
            #expect(error?.contains("EAGAIN") == true && error?.contains("503") == true, "\(String(describing: error))")
            try await emulator.setFaults(#"{"rules":[{"endpoint":"draft_add","kind":"bad_json","fraction":1.0}]}"#)
            try await Self.copyExample(core, to: "drafts/other", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/other") == EIO)
            try await emulator.control(.DELETE, "faults")
            let sent = try await Self.counters(emulator)["draft_add"] ?? 0
            try await using(try await core.reopened(), stop: { await $0.catalog.close() }) {
                (again: CoreFixture) async throws in
                let status = try await Self.maintaining(again) {
                    let built = try await eventually(within: .seconds(60), every: .milliseconds(50)) {
                        try await Self.state(again, "drafts/post") == "built"
                    }
                    #expect(built)
                    // What is still due builds now: nothing, the one with no usable answer waits.
                    return await again.fileSystem.syncQueuedUploads()
                }
                #expect(status.failed.map(\.name) == ["drafts/other"] && status.failed.first?.errno == "EIO")
                #expect(try await Self.state(again, "drafts/other") == "failed")
            }
            #expect(try await Self.counters(emulator)["draft_add"] == sent + 1)
        }
    }

    /// A build during an outage longer than a call's retries (nothing answers on the server's
    /// port) failed for a reason that may pass: no request left, so it is tried again by itself,
    /// and builds once the server is back.
    @Test func aBuildDuringAnOutageIsTriedAgainByItself() async throws {
        let brief = RetryPolicy(
            maxAttempts: 6, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(50), totalTime: .seconds(10))
        try await Self.with(retry: brief, retryDelay: .milliseconds(500)) { core, emulator in
            await emulator.emulator.stop()
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == EAGAIN)
            let error = try await Self.xattr(core, "drafts/post", "user.wechat.error")
            #expect(error?.contains("EAGAIN") == true, "\(String(describing: error))")
            #expect(try await Self.state(core, "drafts/post") == "failed")
            // The same server back on its port.
            let back = try await EmulatorFixture.start(
                limits: .current, dataDirectory: emulator.dataDirectory, port: emulator.port)
            try await using(back, stop: { try await $0.stop() }) { back in
                try await Self.maintaining(core) {
                    let built = try await eventually(within: .seconds(120), every: .milliseconds(50)) {
                        try await Self.state(core, "drafts/post") == "built"
                    }
                    let error = try await Self.xattr(core, "drafts/post", "user.wechat.error")
                    #expect(built, "\(String(describing: error))")
                }
                #expect(try await back.makeClient().draftCount() == 1)
            }
        }
    }

    /// A build whose `draft/add` the server acted on but whose answer was lost (the connection
    /// closed before it) fails with EIO and is not sent again by itself: the server has one draft.
    @Test func aBuildWhoseAnswerIsLostIsNotSentAgain() async throws {
        try await Self.withRefusedForNow("draft_add", "drop_after") { core, emulator in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == EIO)
            let error = try await Self.xattr(core, "drafts/post", "user.wechat.error")
            #expect(error?.contains("may have reached the server") == true, "\(String(describing: error))")
            try await emulator.control(.DELETE, "faults")
            #expect(try await Self.counters(emulator)["draft_add"] == 1)
            #expect(try await emulator.makeClient().draftCount() == 1, "made once, by the answer that was lost")
            #expect(try await Self.state(core, "drafts/post") == "failed")
        }
    }

    @Test func removingAFolderWithADraftNeedsAllowDelete() async throws {
        try await Self.with { core, emulator in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == nil)
            #expect(await CoreFixture.errno { try await core.rmdir("drafts/post") } == ENOTEMPTY)
            for name in Self.exampleNames { try await core.unlink("drafts/post/" + name) }
            #expect(await CoreFixture.errno { try await core.rmdir("drafts/post") } == EPERM)
            #expect(try await Self.counters(emulator)["draft_delete"] ?? 0 == 0)
            #expect(try await core.list("drafts") == ["post"])
            try await core.mkdir("drafts/local")
            try await core.rmdir("drafts/local")
        }
        try await Self.with(allowDelete: true) { core, emulator in
            try await Self.copyExample(core, to: "drafts/post", order: Self.exampleNames)
            #expect(try await Self.fsync(core, "drafts/post") == nil)
            let draftID = try #require(try await Self.xattr(core, "drafts/post", "user.wechat.media_id"))
            for name in Self.exampleNames { try await core.unlink("drafts/post/" + name) }
            try await core.rmdir("drafts/post")
            #expect(try await Self.counters(emulator)["draft_delete"] == 1)
            #expect(try await core.list("drafts") == [])
            await #expect(throws: APIError.self) { _ = try await emulator.makeClient().getDraft(mediaID: draftID) }
        }
    }

    @Test func draftsMadeElsewhereAreFoldersAndAnEditUpdatesThem() async throws {
        try await Self.with { core, emulator in
            let client = emulator.makeClient()
            let cover = try Samples.write(Samples.bytes("cat.jpg"), named: "cover.jpg")
            let thumb = try await client.addMaterial(
                fileAt: cover, as: .image, name: "cover.jpg", title: nil, introduction: nil, progress: { _ in }
            ).mediaID
            let first = try await client.addDraft([
                DraftArticle(
                    title: "Console: \"news\"/today", content: "<p>Made in the console.</p>", thumbMediaID: thumb,
                    author: "ed", needOpenComment: true),
                DraftArticle(title: "Second", content: "<p>Two</p>", thumbMediaID: thumb),
            ])
            // Younger by 10 s: the older draft keeps the plain name.
            try await emulator.advanceClock(seconds: 10)
            let twin = try await client.addDraft([
                DraftArticle(title: "Console: \"news\"/today", content: "<p>Again.</p>", thumbMediaID: thumb)
            ])
            let listed = try await core.list("drafts")
            #expect(listed == ["Console: \"news\"_today", "Console: \"news\"_today~" + twin.prefix(8)], "\(listed)")
            let folder = "drafts/Console: \"news\"_today"
            #expect(try await Self.xattr(core, folder, "user.wechat.media_id") == first)
            #expect(try await Self.state(core, folder) == "built")
            let names = try await core.list(folder)
            #expect(names == ["1-Console: \"news\"_today.html", "2-Second.html"], "\(names)")
            let text = String(decoding: try await core.read(folder + "/2-Second.html"), as: UTF8.self)
            #expect(
                text == "---\ntitle: \"Second\"\ncover: \"\(thumb)\"\ncomments: closed\n---\n<p>Two</p>\n", "\(text)")
            let before = try await Self.counters(emulator)

            // An edit of the second article: one draft/update of it, nothing else.
            let edited = text.replacingOccurrences(of: "<p>Two</p>", with: "<p>Two, edited.</p>")
            try await core.copy(Array(edited.utf8), to: folder + "/2-Second.html")
            #expect(try await Self.fsync(core, folder) == nil)
            let after = try await Self.counters(emulator)
            #expect((after["draft_update"] ?? 0) - (before["draft_update"] ?? 0) == 1, "\(after)")
            #expect((after["draft_add"] ?? 0) == (before["draft_add"] ?? 0))
            let articles = try await client.getDraft(mediaID: first)
            #expect(articles.map(\.content) == ["<p>Made in the console.</p>", "<p>Two, edited.</p>"])
            #expect(articles[0].author == "ed" && articles[0].needOpenComment)

            // Deleted elsewhere: gone at the next listing past the TTL; a listing within it asks nothing.
            try await client.deleteDraft(mediaID: twin)
            let lists = try await Self.counters(emulator)["draft_batchget"] ?? 0
            _ = try await core.list("drafts")
            #expect(try await Self.counters(emulator)["draft_batchget"] ?? 0 == lists)
            core.clock.advance(seconds: 61)
            #expect(try await core.list("drafts") == ["Console: \"news\"_today"])
        }
    }

    /// `/published/` lists what `freepublish/batchget` knows: a message published elsewhere is a
    /// read-only folder with its state and URLs; `rmdir` deletes it from the account only with
    /// `--allow-delete`; the listing is crawled at most once per 30 minutes (100 a day allowed).
    @Test(arguments: [false, true])
    func messagesPublishedElsewhereAreReadOnlyFolders(allowDelete: Bool) async throws {
        try await Self.with(allowDelete: allowDelete) { core, emulator in
            try await emulator.control(.POST, "publish/seconds?seconds=0")
            let client = emulator.makeClient()
            let cover = try Samples.write(Samples.bytes("cat.jpg"), named: "cover.jpg")
            let thumb = try await client.addMaterial(
                fileAt: cover, as: .image, name: "cover.jpg", title: nil, introduction: nil, progress: { _ in }
            ).mediaID
            let draftID = try await client.addDraft([
                DraftArticle(title: "Made elsewhere", content: "<p>One</p>", thumbMediaID: thumb, author: "ed"),
                DraftArticle(title: "Second", content: "<p>Two</p>", thumbMediaID: thumb),
            ])
            let submission = try await client.submit(draftID: draftID)
            let status = try await client.publishStatus(publishID: submission.publishID)
            try #require(status.state == .published)
            let articleID = try #require(status.articleID)

            #expect(try await core.list("published") == ["Made elsewhere"])
            let folder = "published/Made elsewhere"
            #expect(try await core.list(folder) == ["1-Made elsewhere.html", "2-Second.html"])
            let text = String(decoding: try await core.read(folder + "/2-Second.html"), as: UTF8.self)
            #expect(text.hasPrefix("---\ntitle: \"Second\"\n") && text.hasSuffix("<p>Two</p>\n"), "\(text)")
            #expect(try await Self.state(core, folder) == "published")
            #expect(try await Self.xattr(core, folder, "user.wechat.publish_status") == "0")
            let urls = try #require(try await Self.xattr(core, folder, "user.wechat.article_url"))
            #expect(urls.split(separator: "\n").count == 2 && urls.hasPrefix(emulator.baseURL), "\(urls)")
            #expect(try await core.attributes(folder)?.permissions == 0o555)

            // Read-only: no write, no removal of one file, no rename.
            #expect(await CoreFixture.errno { try await core.copy([1], to: folder + "/2-Second.html") } == EPERM)
            #expect(await CoreFixture.errno { try await core.copy([1], to: folder + "/new.md") } == EPERM)
            #expect(await CoreFixture.errno { try await core.unlink(folder + "/2-Second.html") } == EPERM)
            #expect(await CoreFixture.errno { try await core.rename(folder, to: "published/other") } == EPERM)
            #expect(await CoreFixture.errno { try await core.rename(folder, to: "drafts/other") } == EPERM)

            // Listed again within 30 minutes: no second crawl.
            #expect(try await Self.counters(emulator)["freepublish_batchget"] == 1)
            core.clock.advance(seconds: 1700)
            _ = try await core.list("published")
            #expect(try await Self.counters(emulator)["freepublish_batchget"] == 1)

            if allowDelete {
                try await core.rmdir(folder)
                #expect(try await Self.counters(emulator)["freepublish_delete"] == 1)
                #expect(try await client.listPublished(offset: 0, count: 20).totalCount == 0)
                #expect(try await core.list("published") == [])
            } else {
                #expect(await CoreFixture.errno { try await core.rmdir(folder) } == EPERM)
                #expect(try await Self.counters(emulator)["freepublish_delete"] ?? 0 == 0)
                // Deleted elsewhere: gone at the next crawl.
                try await client.deletePublished(articleID: articleID, index: 0)
                core.clock.advance(seconds: 200)
                #expect(try await core.list("published") == [])
                #expect(try await Self.counters(emulator)["freepublish_batchget"] == 2)
            }
        }
    }
}
