import EmulatorTestSupport
import Foundation
import MediaCatalog
import Testing

/// The article folders as both catalogs keep them: every field of a folder and a file read back
/// as written, names unique per place, moves and renames, a folder's removal with its files,
/// the day's poll budget and the claim of one job's poll.
@Suite("Draft catalog")
struct DraftCatalogTests {
    static func drafts(_ catalog: MaterialCatalogTests.AnyMaterialCatalog) throws -> any DraftCatalog {
        try #require(catalog as? any DraftCatalog)
    }

    @Test func aFolderReadsBackEveryFieldAndItsNameIsHeldInItsPlace() async throws {
        try await MaterialCatalogTests.onBoth { catalog, kind in
            let drafts = try Self.drafts(catalog)
            var folder = DraftFolder(
                location: .drafts, name: "post", origin: .server, state: .publishFailed, mode: 0o750, uid: 1000,
                gid: 1001, time: 5_000)
            folder.changeTime = 6_000
            folder.draftID = "DRAFT_1"
            folder.error = "publish_status 4 (refused by review), articles 2"
            folder.errorCode = 5
            folder.waitingFor = "cat.jpg\ncover.jpg"
            folder.builtArticles = "aa\nbb"
            folder.publishID = "2247483647"
            folder.publishStatus = 4
            folder.articleID = "ARTICLE_1"
            folder.articleURLs = "http://a/1\nhttp://a/2"
            folder.nextPollAt = 1_796_000_000
            folder.polls = 7
            folder.updateTime = 1_795_000_000
            let inserted = try await drafts.insertDraftFolder(folder)
            let id = try #require(inserted.id, "\(kind)")
            folder.id = id
            #expect(try await drafts.draftFolder(id: id) == folder, "\(kind)")
            #expect(try await drafts.draftFolder(in: .drafts, named: "post") == folder, "\(kind)")
            #expect(try await drafts.draftFolders(in: .publishFailed) == [folder], "\(kind)")
            #expect(try await drafts.draftFolders(in: DraftFolder.Location.drafts) == [folder], "\(kind)")
            await #expect(throws: CatalogError.nameTaken, "\(kind)") {
                _ = try await drafts.insertDraftFolder(DraftFolder(name: "post", mode: 0o755, uid: 0, gid: 0, time: 1))
            }
            // The same name in the other place is another folder.
            let other = try await drafts.insertDraftFolder(
                DraftFolder(location: .published, name: "post", mode: 0o755, uid: 0, gid: 0, time: 1))
            #expect(other.id != nil && other.id != id, "\(kind)")

            var changed = folder
            changed.state = .built
            (changed.error, changed.errorCode, changed.waitingFor, changed.nextPollAt) = (nil, nil, nil, nil)
            changed.polls = 8
            try await drafts.updateDraftFolder(changed)
            #expect(try await drafts.draftFolder(id: id) == changed, "\(kind)")
            await #expect(throws: CatalogError.nameTaken, "\(kind)") {
                try await drafts.moveDraftFolder(id: id, to: .published, named: "post")
            }
            try await drafts.moveDraftFolder(id: id, to: .published, named: "post-2")
            #expect(try await drafts.draftFolder(in: .published, named: "post-2")?.id == id, "\(kind)")
            #expect(try await drafts.draftFolder(in: .drafts, named: "post") == nil, "\(kind)")
        }
    }

    @Test func filesAreUniquePerFolderRenamedOverOneAnotherAndGoWithTheirFolder() async throws {
        try await MaterialCatalogTests.onBoth { catalog, kind in
            let drafts = try Self.drafts(catalog)
            let folder = try await drafts.insertDraftFolder(
                DraftFolder(name: "post", mode: 0o755, uid: 0, gid: 0, time: 1))
            let folderID = try #require(folder.id)
            var article = DraftFile(folderID: folderID, name: "a.md", mode: 0o640, uid: 1000, gid: 1001, time: 10)
            article = try await drafts.insertDraftFile(article)
            let articleID = try #require(article.id, "\(kind)")
            (article.size, article.contentHash, article.accessTime, article.modificationTime) = (42, "cafe", 11, 12)
            try await drafts.updateDraftFile(article)
            #expect(try await drafts.draftFile(id: articleID) == article, "\(kind)")
            #expect(try await drafts.draftFile(in: folderID, named: "a.md") == article, "\(kind)")
            await #expect(throws: CatalogError.nameTaken, "\(kind)") {
                _ = try await drafts.insertDraftFile(
                    DraftFile(folderID: folderID, name: "a.md", mode: 0o644, uid: 0, gid: 0, time: 1))
            }
            await #expect(throws: CatalogError.folderGone, "\(kind)") {
                _ = try await drafts.insertDraftFile(
                    DraftFile(folderID: folderID + 1000, name: "a.md", mode: 0o644, uid: 0, gid: 0, time: 1))
            }
            // An editor's save: a temporary name renamed over the article.
            let saved = try await drafts.insertDraftFile(
                DraftFile(folderID: folderID, name: ".a.md.swp", mode: 0o644, uid: 0, gid: 0, time: 20))
            let savedID = try #require(saved.id)
            try await drafts.renameDraftFile(id: savedID, to: "a.md", replacing: articleID)
            #expect(try await drafts.draftFile(id: articleID) == nil, "\(kind)")
            #expect(try await drafts.draftFiles(in: folderID).map(\.name) == ["a.md"], "\(kind)")
            let picture = try await drafts.insertDraftFile(
                DraftFile(folderID: folderID, name: "cat.jpg", mode: 0o644, uid: 0, gid: 0, time: 30))
            #expect(try await drafts.draftFiles(in: folderID).map(\.id) == [savedID, picture.id], "\(kind)")

            let removed = try await drafts.deleteDraftFolder(id: folderID)
            #expect(Set(removed.compactMap(\.id)) == [savedID, picture.id], "\(kind)")
            #expect(try await drafts.draftFiles(in: folderID).isEmpty, "\(kind)")
            #expect(try await drafts.draftFolder(id: folderID) == nil, "\(kind)")
        }
    }

    @Test func theDaysPollsStopAtTheBudgetAndOnePollOfAJobIsTakenOnce() async throws {
        try await MaterialCatalogTests.onBoth { catalog, kind in
            let drafts = try Self.drafts(catalog)
            #expect(try await drafts.spendPublishPoll(day: 20_000, budget: 2), "\(kind)")
            #expect(try await drafts.spendPublishPoll(day: 20_000, budget: 2), "\(kind)")
            #expect(try await !drafts.spendPublishPoll(day: 20_000, budget: 2), "\(kind)")
            #expect(try await drafts.publishPollsSpent(day: 20_000) == 2, "\(kind)")
            #expect(try await drafts.spendPublishPoll(day: 20_001, budget: 2), "\(kind): a new day")
            #expect(try await !drafts.spendPublishPoll(day: 20_002, budget: 0), "\(kind)")

            var job = DraftFolder(
                location: .published, name: "post", state: .publishing, mode: 0, uid: 0, gid: 0, time: 1)
            job.nextPollAt = 100
            let id = try #require(try await drafts.insertDraftFolder(job).id)
            #expect(try await drafts.claimPublishPoll(id: id, due: 100, next: 220), "\(kind)")
            #expect(try await !drafts.claimPublishPoll(id: id, due: 100, next: 220), "\(kind): taken already")
            #expect(try await drafts.draftFolder(id: id)?.nextPollAt == 220, "\(kind)")
            #expect(try await drafts.claimDraftBuild(id: id), "\(kind)")
        }
    }
}
