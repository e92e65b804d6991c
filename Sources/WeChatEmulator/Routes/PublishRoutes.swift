import Foundation
import Hummingbird
import WeChatMedia

/// Publishing (`freepublish/...`), as `wechat-api-notes.md` describes it: a job that is
/// publishing (status 1) for `--publish-seconds` on the emulator's clock, then published (the
/// draft leaves the box and becomes a message with an `article_id`) or failed, as a test chose.
extension EmulatorAPI {
    /// `POST freepublish/submit` `{"media_id":DRAFT_ID}` -> `{"publish_id","msg_data_id"}`. A
    /// draft already being published answers 53503 (the submit page's "did not pass the publish
    /// check": the platform documents no code of its own for it).
    func submitPublish(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let object: [String: Any]
        switch try await meteredJSON(request, context: context, api: .publishSubmit) {
        case .refused(let response): return response
        case .body(let body): object = body
        }
        guard let id = object["media_id"] as? String, !id.isEmpty else { return APIResponses.error(.mediaIDMissing) }
        switch try await drafts.submit(id) {
        case .unknownDraft: return APIResponses.error(.invalidMediaID)
        case .busy: return APIResponses.error(.draftFailedPublishCheck)
        case .submitted(let job):
            // As the submit page's example: `publish_id` a string of digits; `get` answers a number.
            return APIResponses.json([
                "errcode": 0, "errmsg": "ok", "publish_id": String(job.publishID), "msg_data_id": String(job.msgDataID),
            ])
        }
    }

    /// `POST freepublish/get` `{"publish_id"}` -> the job's `publish_status`, and once published
    /// its `article_id` and `article_detail`; `fail_idx` (1-based) when it failed.
    func publishStatus(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let object: [String: Any]
        switch try await meteredJSON(request, context: context, api: .publishGet) {
        case .refused(let response): return response
        case .body(let body): object = body
        }
        guard let value = object["publish_id"] else { return APIResponses.error(.mediaIDMissing) }
        guard let publishID = Self.integer(value).map(Int64.init), let job = try await drafts.job(publishID) else {
            return APIResponses.error(.invalidMediaID)
        }
        var reply: [String: any Sendable] = [
            "publish_id": job.publishID, "publish_status": job.status, "fail_idx": job.outcome.failIndexes,
        ]
        if let articleID = job.articleID {
            reply["article_id"] = articleID
            if job.status == 0, let message = try await drafts.message(articleID) {
                let urls = newsItems(message.id, message.articles, request: request).enumerated().map { offset, item in
                    ["idx": offset + 1, "article_url": item["url"] ?? ""] as [String: any Sendable]
                }
                reply["article_detail"] = ["count": urls.count, "item": urls] as [String: any Sendable]
            }
        }
        return APIResponses.json(reply)
    }

    /// `POST freepublish/batchget` `{"offset","count","no_content"}`: published messages, newest first.
    func batchgetPublished(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        try await listing(request, context: context, api: .publishBatchget, idKey: "article_id") { offset, count in
            try await drafts.publishedPage(offset: offset, count: count)
        }
    }

    /// `POST freepublish/getarticle` `{"article_id"}` -> `{"news_item":[...]}`.
    func getPublished(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let message: PublishedMessage
        switch try await namedMessage(request, context: context, api: .publishGetArticle) {
        case .refused(let response): return response
        case .found(let found, _): message = found
        }
        return APIResponses.json([
            "news_item": newsItems(message.id, message.articles, request: request, deleted: message.deleted)
        ])
    }

    /// `POST freepublish/delete` `{"article_id","index"}`: article `index` (from 1), or all for 0
    /// or no index. Irreversible. An index past the message's articles is 47001.
    func deletePublished(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        switch try await namedMessage(request, context: context, api: .publishDelete) {
        case .refused(let response): return response
        case .found(let message, let object):
            let index = object["index"].map { Self.integer($0) } ?? 0
            guard let index else { return APIResponses.error(.dataFormatError, detail: "index is not a number") }
            switch try await drafts.deletePublished(message.id, index: index) {
            case .deleted: return APIResponses.json(["errcode": 0, "errmsg": "ok"])
            case .unknown: return APIResponses.error(.invalidMediaID)
            case .badIndex:
                return APIResponses.error(
                    .dataFormatError, detail: "index must be 0 to \(message.articles.count) for this article")
            }
        }
    }

    private func namedMessage(_ request: Request, context: EmulatorRequestContext, api: MeteredAPI) async throws
        -> Named<PublishedMessage>
    {
        try await named(request, context: context, api: api, key: "article_id") { try await drafts.message($0) }
    }
}
