/// The API endpoints, for counting requests and aiming faults.
public enum EmulatorEndpoint: String, Sendable, Codable, CaseIterable {
    case token
    case stableToken = "stable_token"
    case upload
    case get
    case head
    case video
    case quota
    case addMaterial = "add_material"
    case getMaterial = "get_material"
    case deleteMaterial = "del_material"
    case batchgetMaterial = "batchget_material"
    case materialCount = "get_materialcount"
    case uploadImage = "uploadimg"
    case draftAdd = "draft_add"
    case draftGet = "draft_get"
    case draftUpdate = "draft_update"
    case draftDelete = "draft_delete"
    case draftCount = "draft_count"
    case draftBatchget = "draft_batchget"
    case publishSubmit = "freepublish_submit"
    case publishGet = "freepublish_get"
    case publishBatchget = "freepublish_batchget"
    case publishGetArticle = "freepublish_getarticle"
    case publishDelete = "freepublish_delete"
    /// An article's page, where a draft's or a published article's `url` points.
    case articlePage = "article_page"
    /// A material's bytes at a `down_url` or image `url`, or an article image's.
    case materialFile = "material_file"
}
