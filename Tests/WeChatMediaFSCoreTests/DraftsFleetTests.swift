import EmulatorTestSupport
import FUSEKit
import FleetCatalog
import Foundation
import MediaCatalog
import Testing
import WeChatEmulator
import WeChatMedia
import WeChatMediaFS

/// Article folders on the fleet's PostgreSQL catalog (issue 24): two hosts, each with its own
/// cache dir, share folders, files and their bytes; a folder is built by one host; the day's
/// publishing polls are the fleet's.
@Suite("Article folders in a fleet")
struct DraftsFleetTests {
    /// Two hosts on one database and one emulator, both running their maintenance (due builds,
    /// publishing polls) while `body` runs.
    static func withTwoHosts<T: Sendable>(
        settle: Duration = .seconds(3600), pollsPerDay: Int = 90, dailyQuota: DailyQuota? = nil,
        maintaining: Bool = false, _ body: (CoreFixture, CoreFixture, EmulatorFixture) async throws -> T
    ) async throws -> T {
        try await DraftsTreeTests.with(
            settle: settle, allowPublish: true, pollsPerDay: pollsPerDay, dailyQuota: dailyQuota, backend: .postgres
        ) { first, emulator in
            try await using(try await first.otherHost(), stop: { await $0.leave() }) { second in
                guard maintaining else { return try await body(first, second, emulator) }
                return try await DraftsTreeTests.maintaining(first) {
                    try await DraftsTreeTests.maintaining(second) { try await body(first, second, emulator) }
                }
            }
        }
    }

    @Test func aFolderCopiedThroughTwoHostsBecomesOneDraft() async throws {
        try await Self.withTwoHosts(settle: .seconds(2), maintaining: true) { first, second, emulator in
            let names = DraftsTreeTests.exampleNames
            try #require(names.count == 7)
            let before = try await DraftsTreeTests.counters(emulator)
            // One article and two pictures through one host, the rest through the other: each
            // host's plan reads files only the other wrote.
            let (here, there) = (Array(names.prefix(3)), Array(names.dropFirst(3)))
            try await first.mkdir("drafts/cat-week")
            for name in here { try await first.copy(DraftsTreeTests.exampleFile(name), to: "drafts/cat-week/" + name) }
            for name in there {
                try await second.copy(DraftsTreeTests.exampleFile(name), to: "drafts/cat-week/" + name)
            }
            let built = try await eventually(within: .seconds(60), every: .milliseconds(100)) {
                let states = [
                    try await DraftsTreeTests.state(first, "drafts/cat-week"),
                    try await DraftsTreeTests.state(second, "drafts/cat-week"),
                ]
                return states == ["built", "built"]
            }
            let state = try await DraftsTreeTests.state(first, "drafts/cat-week")
            #expect(built, "state \(String(describing: state))")
            // Both hosts had the folder due: the one that built second found nothing to send.
            let after = try await DraftsTreeTests.counters(emulator)
            func spent(_ key: String) -> Int { (after[key] ?? 0) - (before[key] ?? 0) }
            #expect(spent("draft_add") == 1 && spent("draft_update") == 0, "\(after)")
            #expect(spent("uploadimg") == 2 && spent("add_material") == 3, "\(after)")
            let draftID = try await DraftsTreeTests.xattr(first, "drafts/cat-week", "user.wechat.media_id")
            #expect(draftID != nil)
            #expect(try await DraftsTreeTests.xattr(second, "drafts/cat-week", "user.wechat.media_id") == draftID)
            // Each host lists every file and reads the other's bytes.
            #expect(try await first.list("drafts/cat-week").sorted() == names)
            #expect(try await second.list("drafts/cat-week").sorted() == names)
            for name in here {
                #expect(try await second.read("drafts/cat-week/" + name) == DraftsTreeTests.exampleFile(name))
            }
            for name in there {
                #expect(try await first.read("drafts/cat-week/" + name) == DraftsTreeTests.exampleFile(name))
            }
        }
    }

    @Test func anEditOnTheOtherHostIsOneUpdateAndBothReadIt() async throws {
        try await Self.withTwoHosts { first, second, emulator in
            try await DraftsTreeTests.copyExample(first, to: "drafts/post", order: DraftsTreeTests.exampleNames)
            #expect(try await DraftsTreeTests.fsync(first, "drafts/post") == nil)
            let draftID = try #require(try await DraftsTreeTests.xattr(first, "drafts/post", "user.wechat.media_id"))
            let before = try await DraftsTreeTests.counters(emulator)

            let path = "drafts/post/2-the-big-picture.md"
            var text = String(decoding: try await second.read(path), as: UTF8.self)
            #expect(text == String(decoding: DraftsTreeTests.exampleFile("2-the-big-picture.md"), as: UTF8.self))
            text += "\nWritten on the other host.\n"
            try await second.copy(Array(text.utf8), to: path)
            #expect(try await DraftsTreeTests.fsync(second, "drafts/post") == nil)
            let after = try await DraftsTreeTests.counters(emulator)
            func spent(_ key: String) -> Int { (after[key] ?? 0) - (before[key] ?? 0) }
            #expect(spent("draft_update") == 1 && spent("draft_add") == 0, "\(after)")
            #expect(spent("uploadimg") == 0 && spent("add_material") == 0, "\(after)")
            #expect(try await DraftsTreeTests.xattr(second, "drafts/post", "user.wechat.media_id") == draftID)
            let articles = try await emulator.makeClient().getDraft(mediaID: draftID)
            #expect(articles[1].content.contains("Written on the other host."))
            // The first host's own copy is older than the file: it reads the new bytes.
            #expect(try await first.read(path) == Array(text.utf8))
        }
    }

    /// The day's budget of `freepublish/get` is the fleet's: two hosts polling 150 jobs at once
    /// spend 90 together, each poll taken by one of them.
    @Test func twoHostsSpendOneBudgetOfPolls() async throws {
        try await Self.withTwoHosts(pollsPerDay: 90, dailyQuota: DraftsTreeTests.manySubmits) {
            first, second, emulator in
            try await DraftsTreeTests.submitPendingJobs(150, core: first, emulator: emulator)
            let catalog = try #require(first.catalog as? any DraftCatalog)
            let before = try await DraftsTreeTests.counters(emulator)["freepublish_get"] ?? 0
            var spentByFirst = 0
            var spentBySecond = 0
            for _ in 0..<143 {
                async let byFirst = first.fileSystem.pollPublishing()
                async let bySecond = second.fileSystem.pollPublishing()
                spentByFirst += await byFirst
                spentBySecond += await bySecond
                first.clock.advance(seconds: 600)
            }
            let polled = (try await DraftsTreeTests.counters(emulator)["freepublish_get"] ?? 0) - before
            #expect(
                spentByFirst + spentBySecond == 90 && polled == 90,
                "first \(spentByFirst), second \(spentBySecond), polled \(polled)")
            #expect(spentByFirst > 0 && spentBySecond > 0, "both hosts polled")
            // All 150 were due at once and the budget went in that round: each poll was of a
            // different job (a job is polled by the host that took it, never by both).
            let polls = try await catalog.draftFolders(in: DraftFolder.Location.published).map(\.polls)
            #expect(polls.filter { $0 == 1 }.count == 90 && polls.allSatisfy { $0 <= 1 }, "\(polls)")
        }
    }

    /// A folder one host builds is not built by another until that build ends or its host's
    /// session does.
    @Test func aBuildIsTakenByOneHostAtATime() async throws {
        try await Self.withTwoHosts { first, second, _ in
            try await first.mkdir("drafts/post")
            let firstCatalog = try #require(first.catalog as? PostgresCatalog)
            let secondCatalog = try #require(second.catalog as? PostgresCatalog)
            let id = try #require(try await firstCatalog.draftFolder(in: .drafts, named: "post")?.id)
            #expect(try await firstCatalog.claimDraftBuild(id: id))
            #expect(try await firstCatalog.claimDraftBuild(id: id), "the holder may take it again")
            #expect(try await !secondCatalog.claimDraftBuild(id: id))
            try await firstCatalog.endDraftBuild(id: id)
            #expect(try await secondCatalog.claimDraftBuild(id: id))
            #expect(try await !firstCatalog.claimDraftBuild(id: id))
            // The holder's session ends (its mount stops): the folder is the others' to build.
            try await using(try await second.otherHost(), stop: { await $0.leave() }) {
                (third: CoreFixture) async throws in
                let thirdCatalog = try #require(third.catalog as? PostgresCatalog)
                await secondCatalog.close()
                #expect(try await thirdCatalog.claimDraftBuild(id: id))
            }
        }
    }
}
