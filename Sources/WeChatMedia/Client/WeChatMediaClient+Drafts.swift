import AsyncHTTPClient
import NIOCore

/// The draft box and publishing, under the rules of the material calls: the token refreshed once
/// when refused, transient failures retried where a second request cannot do twice what the
/// first did, and every field of every answer judged where it enters (`DraftReply`).
extension WeChatMediaClient {
    /// Adds a draft of 1 to 8 articles. Not sent again once it may have reached the server (a
    /// second try could make a second draft).
    public func addDraft(_ articles: [DraftArticle]) async throws -> String {
        // What the server would refuse is refused here, the same way, without a request.
        guard (1...DraftLimits.articles).contains(articles.count) else {
            throw APIError(
                errcode: articles.isEmpty ? 44003 : 45008,
                errmsg:
                    "a draft holds 1 to \(DraftLimits.articles) articles, not \(articles.count) (refused before sending)"
            )
        }
        return try await sendOnce("/cgi-bin/draft/add", body: ["articles": articles.map(\.requestObject)], as: .draft) {
            reply throws(TransportError) in try reply.draftID()
        }
    }

    public func getDraft(mediaID: String) async throws -> [DraftArticle] {
        try await call("/cgi-bin/draft/get", body: ["media_id": mediaID], as: .draft) { reply throws(TransportError) in
            try reply.articles(in: "draft/get reply")
        }
    }

    /// Replaces one article of a draft. Not sent again once it may have reached the server: an
    /// update that did arrive twice is harmless, but one that raced a later update is not.
    public func updateDraft(mediaID: String, index: Int, with article: DraftArticle) async throws {
        guard index >= 0 else {
            throw APIError(errcode: 47001, errmsg: "article index \(index) is below 0 (refused before sending)")
        }
        try await sendOnce(
            "/cgi-bin/draft/update", body: ["media_id": mediaID, "index": index, "articles": article.requestObject],
            as: .draft
        ) { _ throws(TransportError) in }
    }

    /// Deletes a draft. A retry after a try that may have reached the server takes 40007 as the
    /// first try's success.
    public func deleteDraft(mediaID: String) async throws {
        try await deleteOnce("/cgi-bin/draft/delete", body: ["media_id": mediaID])
    }

    public func draftCount() async throws -> Int {
        try await retry.run(logger: logger, operation: "draft/count") { deadline in
            try await withFreshToken { token in
                let query = QueryString.encode([("access_token", token.value)])
                let request = HTTPClientRequest(url: connection.url(path: "/cgi-bin/draft/count", query: query))
                let response = try await connection.send(request, as: .draft, deadline: deadline)
                return try await judged(response, deadline: deadline) { reply throws(TransportError) in
                    try reply.count()
                }
            }
        }
    }

    /// One page of the draft box (1-20 drafts from `offset`), judged whole; without the
    /// articles' content unless `withContent`.
    public func listDrafts(offset: Int, count: Int, withContent: Bool = true) async throws -> DraftPage {
        precondition((1...20).contains(count) && offset >= 0, "a page is 1-20 items from offset 0 or more")
        return try await call(
            "/cgi-bin/draft/batchget", body: ["offset": offset, "count": count, "no_content": withContent ? 0 : 1],
            as: .draft
        ) { reply throws(TransportError) in
            try reply.draftPage(offset: offset, count: count, withContent: withContent)
        }
    }

    /// Submits a draft for publishing. Not sent again once it may have reached the server (a
    /// second try could publish twice, or be refused while the first is publishing).
    public func submit(draftID: String) async throws -> PublishSubmission {
        try await sendOnce("/cgi-bin/freepublish/submit", body: ["media_id": draftID], as: .publish) {
            reply throws(TransportError) in try reply.submission()
        }
    }

    /// One `freepublish/get`, sent again only while the server cannot have received it: each
    /// poll spends the day's 100, so the caller's schedule (and budget) is the retry, and a
    /// quota refusal (45009, 45011) is not retried into more.
    public func publishStatus(publishID: String) async throws -> PublishStatus {
        // The platform's ids are numbers; one that is not is sent as the text it is.
        let id: any Sendable = Int64(publishID).map { $0 as any Sendable } ?? publishID
        let path = "/cgi-bin/freepublish/get"
        return try await retry.run(logger: logger, operation: Self.operation(path)) { deadline in
            do {
                return try await withFreshToken { token in
                    let response = try await sendJSON(
                        path, token: token, body: ["publish_id": id], as: .publish, deadline: deadline)
                    return try await judged(response, deadline: deadline) { reply throws(TransportError) in
                        try reply.status(asked: publishID)
                    }
                }
            } catch let error as APIError where error.kind == .quota {
                throw FinalFailure(error)
            } catch let error as TransportError where error.mayHaveReachedServer || error.isInvalidResponse {
                throw FinalFailure(error)
            }
        }
    }

    public func listPublished(offset: Int, count: Int, withContent: Bool = true) async throws -> PublishedPage {
        precondition((1...20).contains(count) && offset >= 0, "a page is 1-20 items from offset 0 or more")
        return try await call(
            "/cgi-bin/freepublish/batchget",
            body: ["offset": offset, "count": count, "no_content": withContent ? 0 : 1], as: .publish
        ) { reply throws(TransportError) in
            try reply.publishedPage(offset: offset, count: count, withContent: withContent)
        }
    }

    public func publishedArticle(articleID: String) async throws -> [DraftArticle] {
        try await call("/cgi-bin/freepublish/getarticle", body: ["article_id": articleID], as: .publish) {
            reply throws(TransportError) in try reply.articles(in: "freepublish/getarticle reply")
        }
    }

    /// Deletes article `index` (from 1) of a published message, or all of it for 0:
    /// irreversible. A retry after a try that may have reached the server takes 40007 as the
    /// first try's success.
    public func deletePublished(articleID: String, index: Int) async throws {
        precondition(index >= 0, "an article index is 0 (all) or more")
        try await deleteOnce("/cgi-bin/freepublish/delete", body: ["article_id": articleID, "index": index])
    }

    // MARK: Pieces

    /// A call that changes nothing: retried as any transient failure allows.
    private func call<T: Sendable>(
        _ path: String, body: [String: any Sendable], as kind: RequestStatistics.Kind,
        read: (DraftReply) throws(TransportError) -> T
    ) async throws -> T {
        try await retry.run(logger: logger, operation: Self.operation(path)) { deadline in
            try await withFreshToken { token in
                let response = try await sendJSON(path, token: token, body: body, as: kind, deadline: deadline)
                return try await judged(response, deadline: deadline, read)
            }
        }
    }

    /// A call that makes something: retried only while the server cannot have received it, sent
    /// on a connection of its own so that a connection that ends mid-exchange tells so (see
    /// `APIConnection.send`). A reply that is not the API's came from something that did receive
    /// it: not sent again either (add_material resends then; a draft or a publish twice is worse
    /// than a failure).
    private func sendOnce<T: Sendable>(
        _ path: String, body: [String: any Sendable], as kind: RequestStatistics.Kind,
        read: (DraftReply) throws(TransportError) -> T
    ) async throws -> T {
        try await retry.run(logger: logger, operation: Self.operation(path)) { deadline in
            do {
                return try await withFreshToken { token in
                    let response = try await sendJSON(
                        path, token: token, body: body, as: kind, deadline: deadline, atMostOnce: true)
                    return try await judged(response, deadline: deadline, read)
                }
            } catch let error as TransportError where error.mayHaveReachedServer || error.isInvalidResponse {
                throw FinalFailure(error)
            }
        }
    }

    /// A delete: a retry's 40007 means the first try did it.
    private func deleteOnce(_ path: String, body: [String: any Sendable]) async throws {
        let attempts = Attempts()
        let kind: RequestStatistics.Kind = path.contains("/draft/") ? .draft : .publish
        try await retry.run(logger: logger, operation: Self.operation(path)) { deadline in
            let again = attempts.next()
            do {
                try await withFreshToken { token in
                    let response = try await sendJSON(path, token: token, body: body, as: kind, deadline: deadline)
                    try await judged(response, deadline: deadline) { _ throws(TransportError) in }
                }
            } catch let error as APIError where error.kind == .notFound && again {
                return
            }
        }
    }

    /// The answer's error thrown, else what `read` makes of its fields; a field that cannot be
    /// true ends the call (asking again would not make it true).
    private func judged<T>(
        _ response: HTTPClientResponse, deadline: NIODeadline, _ read: (DraftReply) throws(TransportError) -> T
    ) async throws -> T {
        let reply = try await jsonReply(response, deadline: deadline) { bytes throws(TransportError) in
            try DraftReply.parse(bytes)
        }
        do {
            return try read(reply)
        } catch {
            throw FinalFailure(error)
        }
    }

    /// `draft/add` for `/cgi-bin/draft/add`: how the retry log names the call.
    private static func operation(_ path: String) -> String {
        String(path.dropFirst("/cgi-bin/".count))
    }
}

extension TransportError {
    var isInvalidResponse: Bool {
        if case .invalidResponse = self { true } else { false }
    }
}
