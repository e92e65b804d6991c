/// The draft box and publishing, as the filesystem asks for them: the client behind a
/// protocol, so tests can put a twin that fails on purpose in its place.
public protocol DraftService: Sendable {
    /// `draft/add`: 1 to 8 articles; the new draft's media id.
    func addDraft(_ articles: [DraftArticle]) async throws -> String
    /// `draft/get`: the draft's articles, each with its `url`.
    func getDraft(mediaID: String) async throws -> [DraftArticle]
    /// `draft/update`: replaces the article at `index` (from 0).
    func updateDraft(mediaID: String, index: Int, with article: DraftArticle) async throws
    /// `draft/delete`.
    func deleteDraft(mediaID: String) async throws
    /// `draft/count`.
    func draftCount() async throws -> Int
    /// One `draft/batchget` page: 1-20 drafts from `offset`, newest first.
    func listDrafts(offset: Int, count: Int, withContent: Bool) async throws -> DraftPage
    /// `freepublish/submit` of a draft.
    func submit(draftID: String) async throws -> PublishSubmission
    /// `freepublish/get`.
    func publishStatus(publishID: String) async throws -> PublishStatus
    /// One `freepublish/batchget` page: 1-20 published messages from `offset`.
    func listPublished(offset: Int, count: Int, withContent: Bool) async throws -> PublishedPage
    /// `freepublish/getarticle`: a published message's articles.
    func publishedArticle(articleID: String) async throws -> [DraftArticle]
    /// `freepublish/delete`: article `index` (from 1) of a published message, or all for 0.
    func deletePublished(articleID: String, index: Int) async throws
}

extension WeChatMediaClient: DraftService {}
