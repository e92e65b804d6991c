import Foundation
import Hummingbird
import NIOCore
import WeChatMedia

/// The draft box (`draft/...`), as `wechat-api-notes.md` describes it.
extension EmulatorAPI {
    /// `POST draft/add` `{"articles":[ARTICLE, ...]}` (1 to 8) -> `{"media_id"}`.
    func addDraft(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let object: [String: Any]
        switch try await meteredJSON(request, context: context, api: .draftAdd) {
        case .refused(let response): return response
        case .body(let body): object = body
        }
        guard let list = object["articles"] as? [Any], !list.isEmpty else { return APIResponses.error(.emptyNewsData) }
        guard list.count <= DraftLimits.articles else { return APIResponses.error(.articleSizeOutOfLimit) }
        var articles: [StoredArticle] = []
        for value in list {
            switch await checkedArticle(value, request: request) {
            case .refused(let code): return APIResponses.error(code)
            case .accepted(let article): articles.append(article)
            }
        }
        let draft = try await drafts.add(articles)
        return APIResponses.json(["media_id": draft.id])
    }

    /// `POST draft/get` `{"media_id"}` -> `{"news_item":[ARTICLE + "url", ...]}`.
    func getDraft(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let draft: StoredDraft
        switch try await namedDraft(request, context: context, api: .draftGet) {
        case .refused(let response): return response
        case .found(let found, _): draft = found
        }
        return APIResponses.json(["news_item": newsItems(draft.id, draft.articles, request: request)])
    }

    /// `POST draft/update` `{"media_id","index","articles":ARTICLE}`: one article replaced by its
    /// 0-based index, checked as `draft/add` checks it. An index that names no article is 47001
    /// (data format error), as for any other value out of its range.
    func updateDraft(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        let object: [String: Any]
        let draft: StoredDraft
        switch try await namedDraft(request, context: context, api: .draftUpdate) {
        case .refused(let response): return response
        case .found(let found, let body):
            draft = found
            object = body
        }
        guard let index = Self.integer(object["index"]), draft.articles.indices.contains(index) else {
            return APIResponses.error(
                .dataFormatError, detail: "index must be 0 to \(draft.articles.count - 1) for this draft")
        }
        let article: StoredArticle
        switch await checkedArticle(object["articles"], request: request) {
        case .refused(let code): return APIResponses.error(code)
        case .accepted(let checked): article = checked
        }
        guard try await drafts.update(draft.id, index: index, with: article) == true else {
            return APIResponses.error(.invalidMediaID)
        }
        return APIResponses.json(["errcode": 0, "errmsg": "ok"])
    }

    /// `POST draft/delete` `{"media_id"}`: gone for good; a later call answers 40007.
    func deleteDraft(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        switch try await namedDraft(request, context: context, api: .draftDelete) {
        case .refused(let response): return response
        case .found(let draft, _):
            guard try await drafts.delete(draft.id) else { return APIResponses.error(.invalidMediaID) }
            return APIResponses.json(["errcode": 0, "errmsg": "ok"])
        }
    }

    /// `GET draft/count` -> `{"total_count"}`.
    func draftCount(_ request: Request) async throws -> Response {
        if let refusal = await refusal(of: request, metering: .draftCount) { return refusal }
        return APIResponses.json(["total_count": try await drafts.draftCount()])
    }

    /// `POST draft/batchget` `{"offset","count":1..20,"no_content":0|1}`, newest first.
    func batchgetDrafts(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        try await listing(request, context: context, api: .draftBatchget, idKey: "media_id") { offset, count in
            try await drafts.draftPage(offset: offset, count: count)
        }
    }

    /// `GET /s/ID/IDX`: the page of article IDX (from 1) of a draft or a published message: what
    /// each article's `url` points to.
    func articlePage(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id"), let index = context.parameters.get("idx").flatMap(Int.init),
            let article = try await drafts.article(id, index: index)
        else {
            return Response(status: .notFound)
        }
        let html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(Self.escapedHTML(article.title))</title></head>
            <body><h1>\(Self.escapedHTML(article.title))</h1>
            <p class="author">\(Self.escapedHTML(article.author))</p>
            <div id="js_content">\(article.content)</div></body></html>
            """
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    // MARK: Shared steps

    /// The articles as the platform shows them: each with the URL of its page.
    func newsItems(
        _ id: String, _ articles: [StoredArticle], request: Request, withContent: Bool = true,
        deleted: [Bool]? = nil
    ) -> [[String: any Sendable]] {
        articles.enumerated().map { offset, article in
            var item = article.json(url: "http://\(host(of: request))/s/\(id)/\(offset + 1)", withContent: withContent)
            if let deleted { item["is_deleted"] = deleted[offset] }
            return item
        }
    }

    enum JSONRequest {
        case body([String: Any])
        case refused(Response)
    }

    /// A POST's JSON object body, once the token and today's quota of `api` allow the call.
    func meteredJSON(_ request: Request, context: EmulatorRequestContext, api: MeteredAPI) async throws
        -> JSONRequest
    {
        guard request.method == .post else { return .refused(APIResponses.error(.requirePOST)) }
        if let refusal = await refusal(of: request, metering: api) { return .refused(refusal) }
        // Room for 8 articles of a little under 1 MB each, escaped.
        guard let object = try await jsonBody(request, context: context, limit: 16 * 1024 * 1024) else {
            return .refused(APIResponses.error(.dataFormatError))
        }
        return .body(object)
    }

    /// A listing (`draft/batchget`, `freepublish/batchget`) of `{"offset","count":1..20,
    /// "no_content":0|1}`: `no_content` as a number or a JSON bool (silenceper sends a bool); out
    /// of range: 47001, as `batchget_material` answers. Each record under `idKey`, with its
    /// articles (without content for `no_content` 1).
    func listing<Record: ListedRecord>(
        _ request: Request, context: EmulatorRequestContext, api: MeteredAPI, idKey: String,
        fetch: (_ offset: Int, _ count: Int) async throws -> (total: Int, items: [Record])
    ) async throws -> Response {
        let object: [String: Any]
        switch try await meteredJSON(request, context: context, api: api) {
        case .refused(let response): return response
        case .body(let body): object = body
        }
        let offset = Self.integer(object["offset"]) ?? 0
        let count = Self.integer(object["count"]) ?? 20
        let noContent = object["no_content"].map { Self.integer($0) } ?? 0
        guard offset >= 0, (1...20).contains(count), let noContent, noContent == 0 || noContent == 1 else {
            return APIResponses.error(
                .dataFormatError, detail: "offset must be 0 or more, count 1 to 20, no_content 0 or 1")
        }
        let found = try await fetch(offset, count)
        let items: [[String: any Sendable]] = found.items.map { record in
            [
                idKey: record.id, "update_time": record.updateTime,
                "content": [
                    "news_item": newsItems(
                        record.id, record.articles, request: request, withContent: noContent == 0,
                        deleted: record.deletedFlags)
                ],
            ]
        }
        return APIResponses.json(["total_count": found.total, "item_count": items.count, "item": items])
    }

    enum Named<Record> {
        case found(Record, [String: Any])
        case refused(Response)
    }

    /// The record a body's `key` (`media_id`, `article_id`) names: 41006 without one, 40007
    /// when there is none (or no more).
    func named<Record>(
        _ request: Request, context: EmulatorRequestContext, api: MeteredAPI, key: String,
        lookup: (String) async throws -> Record?
    ) async throws -> Named<Record> {
        let object: [String: Any]
        switch try await meteredJSON(request, context: context, api: api) {
        case .refused(let response): return .refused(response)
        case .body(let body): object = body
        }
        guard let id = object[key] as? String, !id.isEmpty else { return .refused(APIResponses.error(.mediaIDMissing)) }
        guard let record = try await lookup(id) else { return .refused(APIResponses.error(.invalidMediaID)) }
        return .found(record, object)
    }

    private func namedDraft(_ request: Request, context: EmulatorRequestContext, api: MeteredAPI) async throws
        -> Named<StoredDraft>
    {
        try await named(request, context: context, api: api, key: "media_id") { try await drafts.draft($0) }
    }

    /// An ARTICLE of a request, checked whole: its fields (`ArticleRequest`, `DraftLimits`), its cover and
    /// pictures permanent material of this emulator (40007 otherwise: a temporary id too), and
    /// its body's images not served by this emulator stripped.
    private func checkedArticle(_ value: Any?, request: Request) async -> ArticleCheck {
        var article: StoredArticle
        switch ArticleRequest.read(value) {
        case .refused(let code): return .refused(code)
        case .accepted(let read): article = read
        }
        if article.articleType == StoredArticle.newsType {
            guard let cover = await material.lookup(article.thumbMediaID), cover.type == .image || cover.type == .thumb
            else {
                return .refused(.invalidMediaID)
            }
        }
        for id in article.imageMediaIDs {
            guard await material.lookup(id)?.type == .image else { return .refused(.invalidMediaID) }
        }
        var own: Set<String> = []
        for source in Set(ArticleBody.imageSources(in: article.content))
        where await isOwnImage(source, request: request) {
            own.insert(source)
        }
        article.content = ArticleBody.strippingImages(from: article.content, keeping: own)
        return .accepted(article)
    }

    /// Whether `source` is a URL this emulator gave out for an image: an article image's
    /// (`/mmbiz/article/NAME`) or an image material's (`/mmbiz/image/ID.EXT`), on its own host.
    private func isOwnImage(_ source: String, request: Request) async -> Bool {
        guard let url = URLComponents(string: source), url.scheme?.lowercased() == "http",
            let urlHost = url.host, "\(urlHost)\(url.port.map { ":\($0)" } ?? "")" == host(of: request)
        else {
            return false
        }
        let parts = url.path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, parts[1] == "mmbiz" else { return false }
        let name = String(parts[3])
        switch parts[2] {
        case "article": return await material.articleImagePath(name) != nil
        case "image":
            let id = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
            return await material.lookup(id)?.type == .image
        default: return false
        }
    }

    static func escapedHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
