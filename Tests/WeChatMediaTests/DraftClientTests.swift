import EmulatorTestSupport
import Foundation
import Logging
import Testing
import WeChatEmulator
import WeChatMedia

@Suite("Client: the draft box and publishing")
struct DraftClientTests {
    /// A thumb material to use as a cover.
    static func cover(_ client: WeChatMediaClient) async throws -> String {
        let thumb = try MaterialClientTests.sample("thumb.jpg")
        defer { try? FileManager.default.removeItem(atPath: thumb.directory) }
        return try await client.addMaterial(fileAt: thumb.path, as: .thumb, name: "cover.jpg").mediaID
    }

    @Test func eachCallWorksAgainstTheEmulator() async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient()
            let cover = try await Self.cover(client)
            let cat = try MaterialClientTests.sample("cat.jpg")
            defer { try? FileManager.default.removeItem(atPath: cat.directory) }
            let own = try await client.uploadArticleImage(fileAt: cat.path, name: "body.jpg")
            let body = "<p>猫</p><img src=\"\(own)\"><img src=\"https://example.com/x.png\">"
            let first = DraftArticle(
                title: "第一篇", content: body, thumbMediaID: cover, author: "me", digest: "d",
                contentSourceURL: "https://example.com/source", needOpenComment: true)
            let second = DraftArticle(title: "Second", content: "<p>2</p>", thumbMediaID: cover)
            let id = try await client.addDraft([first, second])

            let got = try await client.getDraft(mediaID: id)
            #expect(got.map(\.title) == ["第一篇", "Second"])
            #expect(got[0].content == "<p>猫</p><img src=\"\(own)\">", "the foreign image is stripped")
            #expect(got[0].needOpenComment && !got[0].onlyFansCanComment && got[0].author == "me")
            #expect(got.allSatisfy { $0.url?.hasPrefix("http://") == true && $0.thumbMediaID == cover })
            #expect(try await client.draftCount() == 1)
            let page = try await client.listDrafts(offset: 0, count: 20, withContent: false)
            #expect(page.totalCount == 1 && page.items.map(\.mediaID) == [id])
            #expect(page.items.first?.articles.allSatisfy { $0.content.isEmpty } == true)
            #expect(try await client.listDrafts(offset: 0, count: 1).items.first?.articles[1].content == "<p>2</p>")

            var changed = second
            changed.title = "Second, changed"
            try await client.updateDraft(mediaID: id, index: 1, with: changed)
            #expect(try await client.getDraft(mediaID: id).map(\.title) == ["第一篇", "Second, changed"])
            let outOfRange = await #expect(throws: APIError.self) {
                try await client.updateDraft(mediaID: id, index: 2, with: changed)
            }
            #expect(outOfRange?.code == .dataFormatError)

            let submitted = try await client.submit(draftID: id)
            #expect(Int64(submitted.publishID) != nil)
            #expect(try await client.publishStatus(publishID: submitted.publishID).state == .publishing)
            let twice = await #expect(throws: APIError.self) { try await client.submit(draftID: id) }
            #expect(twice?.code == .draftFailedPublishCheck)
            try await f.advanceClock(seconds: 10)
            let status = try await client.publishStatus(publishID: submitted.publishID)
            #expect(status.state == .published && status.failIndexes.isEmpty)
            #expect(status.articleURLs.map(\.index) == [1, 2])
            let articleID = try #require(status.articleID)
            #expect(try await client.draftCount() == 0, "a published draft leaves the box")

            let published = try await client.listPublished(offset: 0, count: 20)
            #expect(published.totalCount == 1 && published.items.first?.articleID == articleID)
            let articles = try await client.publishedArticle(articleID: articleID)
            #expect(articles.map(\.title) == ["第一篇", "Second, changed"] && articles.allSatisfy { !$0.isDeleted })
            try await client.deletePublished(articleID: articleID, index: 2)
            #expect(try await client.publishedArticle(articleID: articleID).map(\.isDeleted) == [false, true])
            try await client.deletePublished(articleID: articleID, index: 0)
            #expect(try await client.publishStatus(publishID: submitted.publishID).state == .deletedByUser)

            let other = try await client.addDraft([second])
            try await client.deleteDraft(mediaID: other)
            let gone = await #expect(throws: APIError.self) { try await client.getDraft(mediaID: other) }
            #expect(gone?.kind == .notFound)
            let counters = try await f.counters()
            #expect(counters["draft_add"] == 2 && counters["freepublish_submit"] == 2 && counters["draft_delete"] == 1)
        }
    }

    @Test func aFailedPublishSaysWhichArticles() async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient()
            let cover = try await Self.cover(client)
            let id = try await client.addDraft([
                DraftArticle(title: "A", content: "a", thumbMediaID: cover),
                DraftArticle(title: "B", content: "b", thumbMediaID: cover),
            ])
            try await f.control(.POST, "publish/next", json: #"{"publish_status":2,"fail_idx":[2]}"#)
            try await f.control(.POST, "publish/seconds?seconds=0")
            let submitted = try await client.submit(draftID: id)
            let status = try await client.publishStatus(publishID: submitted.publishID)
            #expect(
                status
                    == PublishStatus(
                        publishID: submitted.publishID, state: .originalCheckFailed, articleID: nil, articleURLs: [],
                        failIndexes: [2]))
            #expect(try await client.draftCount() == 1)
        }
    }

    /// What the server would refuse (no article, a ninth, an index below 0) is refused by the
    /// client with the server's errcode, without a request: never a crash.
    @Test func aDraftTheServerWouldRefuseIsRefusedBeforeSending() async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient()
            let article = DraftArticle(title: "A", content: "a", thumbMediaID: "unused")
            await #expect { try await client.addDraft([]) } throws: { ($0 as? APIError)?.errcode == 44003 }
            await #expect {
                try await client.addDraft(Array(repeating: article, count: DraftLimits.articles + 1))
            } throws: { ($0 as? APIError)?.errcode == 45008 }
            await #expect {
                try await client.updateDraft(mediaID: "x", index: -1, with: article)
            } throws: { ($0 as? APIError)?.errcode == 47001 }
            let counters = try await f.counters()
            #expect(counters["draft_add", default: 0] + counters["draft_update", default: 0] == 0)
        }
    }

    /// Makes one draft with `client`, sets `faults`, then adds, updates and submits once each,
    /// each expected to fail as `failure` says. Returns the requests the emulator counted.
    static func writesUnderFaults(
        _ f: EmulatorFixture, _ client: WeChatMediaClient, _ faults: String, failing failure: (any Error) -> Bool
    ) async throws -> [String: Int] {
        let cover = try await Self.cover(client)
        let article = DraftArticle(title: "A", content: "a", thumbMediaID: cover)
        let id = try await client.addDraft([article])
        try await f.setFaults(faults)
        await #expect { try await client.addDraft([article]) } throws: { failure($0) }
        await #expect { try await client.updateDraft(mediaID: id, index: 0, with: article) } throws: { failure($0) }
        await #expect { try await client.submit(draftID: id) } throws: { failure($0) }
        return try await f.counters()
    }

    @Test func aBadAnswerToADraftOrPublishIsNotSentAgain() async throws {
        try await EmulatorFixture.with { f in
            let counters = try await Self.writesUnderFaults(
                f, f.makeClient(),
                #"{"rules":[{"endpoint":"draft_add","kind":"bad_json","fraction":1},"#
                    + #"{"endpoint":"freepublish_submit","kind":"html","fraction":1},"#
                    + #"{"endpoint":"draft_update","kind":"bad_json","fraction":1}]}"#
            ) { $0 is TransportError }
            #expect(counters["draft_add"] == 2, "one good add, one bad: not sent again")
            #expect(counters["freepublish_submit"] == 1 && counters["draft_update"] == 1)
        }
    }

    /// A draft, an update or a publish whose answer is lost after the server acted on it (the
    /// connection closed before the answer, or the answer cut half way) fails as "may have
    /// reached the server" and is not sent again: the server made the draft once. So also without
    /// connections of their own (a client given no single-use HTTP client).
    @Test(arguments: ["drop_after", "cut"], [true, false])
    func aDraftOrPublishWhoseAnswerIsLostIsNotSentAgain(kind: String, singleUseConnections: Bool) async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient(singleUseConnections: singleUseConnections)
            let counters = try await Self.writesUnderFaults(
                f, client,
                #"{"rules":[{"endpoint":"draft_add","kind":"\#(kind)","fraction":1},"#
                    + #"{"endpoint":"freepublish_submit","kind":"\#(kind)","fraction":1},"#
                    + #"{"endpoint":"draft_update","kind":"\#(kind)","fraction":1}]}"#
            ) { ($0 as? TransportError)?.mayHaveReachedServer == true }
            #expect(counters["draft_add"] == 2, "one good add, one lost answer: not sent again")
            #expect(counters["draft_update"] == 1 && counters["freepublish_submit"] == 1, "\(counters)")
            try await f.setFaults(#"{"rules":[]}"#)
            #expect(try await client.draftCount() == 2, "the lost answer's draft was made, once")
        }
    }

    /// A draft that cannot leave (nothing listens on the port: AsyncHTTPClient reports the
    /// refused connection) is tried until the call's time is up and is not taken for one that may
    /// have arrived, so a build tries it again later.
    @Test func aDraftThatCannotLeaveIsNotTakenForOneThatMayHaveArrived() async throws {
        try await EmulatorFixture.with { f in
            let directory = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try "token0123456789\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
            // Nothing listens on port 9 of loopback.
            let connection = APIConnection(
                baseURL: "http://127.0.0.1:9", httpClient: f.http, singleUseClient: f.singleUse)
            let retry = RetryPolicy(
                maxAttempts: 3, initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(10), totalTime: .seconds(2)
            )
            let client = WeChatMediaClient(
                connection: connection, tokens: TokenFileProvider(path: directory + "/token"),
                rules: MediaRules(profile: .seed), retry: retry, logger: Logger(label: "test.refused"))
            await #expect {
                try await client.addDraft([DraftArticle(title: "A", content: "a", thumbMediaID: "thumb")])
            } throws: { error in
                guard case .deadlineExceeded = error as? TransportError else { return false }
                return true
            }
        }
    }

    @Test func readsAreRetriedAndARefusedTokenIsRenewedOnce() async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient()
            let cover = try await Self.cover(client)
            let id = try await client.addDraft([DraftArticle(title: "A", content: "a", thumbMediaID: cover)])
            try await f.setFaults(#"{"rules":[{"endpoint":"draft_get","kind":"errcode","fraction":0.5}]}"#)
            for _ in 0..<2 { #expect(try await client.getDraft(mediaID: id).map(\.title) == ["A"]) }
            #expect(try await f.injectedFaults() == [1], "one -1 answer, retried")
            #expect(try await f.counters()["draft_get"] == 3)
            try await f.retireTokens()
            #expect(try await client.draftCount() == 1, "a fresh token after 40001")
            #expect(try await f.counters()["draft_count"] == 2)
        }
    }

    // MARK: Hostile answers, judged where they enter

    static func reply(_ json: String) throws -> DraftReply { try DraftReply.parse(Array(json.utf8)) }

    static let article = #"{"title":"t","content":"c","thumb_media_id":"abc_DEF-1","url":"http://x.test/s/1"}"#

    @Test func wellFormedAnswersAreTaken() throws {
        let page = try Self.reply(
            #"{"total_count":3,"item_count":1,"item":[{"media_id":"d1","update_time":1796116470,"content":{"news_item":[\#(Self.article)]}}]}"#
        ).draftPage(offset: 2, count: 20, withContent: true)
        #expect(page.totalCount == 3 && page.items.first?.articles.first?.url == "http://x.test/s/1")
        let status = try Self.reply(
            #"{"publish_id":"42","publish_status":0,"article_id":"art_1","article_detail":{"count":1,"item":[{"idx":1,"article_url":"https://mp.test/s/a"}]},"fail_idx":[]}"#
        ).status(asked: "42")
        #expect(
            status.articleURLs == [PublishedURL(index: 1, url: "https://mp.test/s/a")] && status.articleID == "art_1")
        #expect(
            try Self.reply(#"{"publish_id":2247483648,"msg_data_id":"7"}"#).submission()
                == PublishSubmission(publishID: "2247483648", msgDataID: "7"))
        #expect(
            try Self.reply(#"{"publish_id":42,"publish_status":3,"fail_idx":[1,8]}"#).status(asked: "42").failIndexes
                == [1, 8])
    }

    @Test(arguments: [
        (#"{"publish_id":42,"publish_status":7}"#, "publish_status"),
        (#"{"publish_id":42,"publish_status":-1}"#, "publish_status"),
        (#"{"publish_id":42,"publish_status":"x"}"#, "publish_status"),
        (#"{"publish_id":42}"#, "publish_status"),
        (#"{"publish_id":43,"publish_status":0}"#, "not the one asked"),
        (#"{"publish_id":"4x","publish_status":0}"#, "publish_id"),
        (#"{"publish_id":42,"publish_status":3,"fail_idx":[9]}"#, "fail_idx"),
        (#"{"publish_id":42,"publish_status":3,"fail_idx":[0]}"#, "fail_idx"),
        (#"{"publish_id":42,"publish_status":3,"fail_idx":"1"}"#, "fail_idx"),
        (#"{"publish_id":42,"publish_status":0,"article_id":"../x"}"#, "article_id"),
        (#"{"publish_id":42,"publish_status":0}"#, "without an article_id"),
        (
            #"{"publish_id":42,"publish_status":0,"article_id":"a","article_detail":{"count":1,"item":[{"idx":1,"article_url":"http://a.test/"}]},"fail_idx":[2]}"#,
            "fail_idx"
        ),
        (#"{"publish_id":42,"publish_status":0,"article_detail":[]}"#, "article_detail"),
        (
            #"{"publish_id":42,"publish_status":0,"article_detail":{"count":2,"item":[{"idx":1,"article_url":"http://a.test/"}]}}"#,
            "count"
        ),
        (
            #"{"publish_id":42,"publish_status":0,"article_detail":{"count":1,"item":[{"idx":2,"article_url":"http://a.test/"}]}}"#,
            "idx"
        ),
        (
            #"{"publish_id":42,"publish_status":0,"article_detail":{"count":1,"item":[{"idx":1,"article_url":"javascript:alert(1)"}]}}"#,
            "article_url"
        ),
    ])
    func aStatusThatCannotBeTrueIsRefusedByName(json: String, field: String) throws {
        let error = #expect(throws: TransportError.self) { try Self.reply(json).status(asked: "42") }
        #expect(String(describing: error).contains(field), "\(String(describing: error))")
    }

    @Test(arguments: [
        (#"{"total_count":1,"item_count":2,"item":[ITEM]}"#, "item_count"),
        (#"{"total_count":-1,"item_count":0,"item":[]}"#, "total_count"),
        (#"{"total_count":1,"item_count":1,"item":{}}"#, "item is not a list"),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"../d","update_time":1796116470,"content":{"news_item":[ART]}}]}"#,
            "media_id"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":5,"content":{"news_item":[ART]}}]}"#,
            "update_time"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[]}}]}"#,
            "news_item"
        ),
        (#"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470}]}"#, "news_item"),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[ART,ART,ART,ART,ART,ART,ART,ART,ART]}}]}"#,
            "news_item"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[{"title":"t","content":"c","url":"file:///etc/passwd"}]}}]}"#,
            "url"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[{"title":"t","content":"c","thumb_media_id":"a/b"}]}}]}"#,
            "thumb_media_id"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[{"title":"t","content":"c","need_open_comment":2}]}}]}"#,
            "need_open_comment"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[{"title":7,"content":"c"}]}}]}"#,
            "title"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[{"content":"c"}]}}]}"#,
            "without title"
        ),
        (
            #"{"total_count":1,"item_count":1,"item":[{"media_id":"d","update_time":1796116470,"content":{"news_item":[{"title":"t","content":"c","image_info":{"image_list":[{"image_media_id":"a b"}]}}]}}]}"#,
            "image_media_id"
        ),
    ])
    func aDraftPageThatCannotBeTrueIsRefusedByName(json: String, field: String) throws {
        let body = json.replacingOccurrences(
            of: "ITEM",
            with: #"{"media_id":"d","update_time":1796116470,"content":{"news_item":[ART]}}"#
        ).replacingOccurrences(of: "ART", with: Self.article)
        let error = #expect(throws: TransportError.self) {
            try Self.reply(body).draftPage(offset: 0, count: 20, withContent: true)
        }
        #expect(String(describing: error).contains(field), "\(String(describing: error))")
    }

    @Test func countsAndIDsAreJudged() throws {
        #expect(throws: TransportError.self) { try Self.reply(#"{"total_count":-3}"#).count() }
        #expect(throws: TransportError.self) { try Self.reply(#"{"total_count":9223372036854775807}"#).count() }
        #expect(throws: TransportError.self) { try Self.reply(#"{"media_id":"a/../b"}"#).draftID() }
        #expect(throws: TransportError.self) { try Self.reply(#"{"publish_id":-1}"#).submission() }
        #expect(throws: TransportError.self) { try Self.reply(#"{"news_item":[]}"#).articles(in: "x") }
        let more = #expect(throws: TransportError.self) {
            try Self.reply(#"{"total_count":5,"item_count":2,"item":[{},{}]}"#).publishedPage(
                offset: 0, count: 1, withContent: true)
        }
        #expect(String(describing: more).contains("at most 1"))
        #expect(try Self.reply(#"{"total_count":0}"#).count() == 0)
    }
}
