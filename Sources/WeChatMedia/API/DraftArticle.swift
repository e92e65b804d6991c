/// One article of a draft or of a published message (`wechat-api-notes.md`, "Drafts"): what
/// `draft/add` and `draft/update` send, and what `draft/get`, the listings and
/// `freepublish/getarticle` answer (then with its `url`).
public struct DraftArticle: Sendable, Equatable {
    /// `news` (the default, with a cover) or `newspic` (a picture post, with `imageMediaIDs`).
    public var articleType: String
    /// Required; at most `DraftLimits.title` characters.
    public var title: String
    /// At most 16 characters.
    public var author: String
    /// At most `DraftLimits.digest` characters.
    public var digest: String
    /// HTML, required, under 20,000 characters and 1 MB; only images from `uploadimg` stay.
    /// Empty in a listing asked without content.
    public var content: String
    public var contentSourceURL: String
    /// The cover: a permanent image or thumb material (required for `news`).
    public var thumbMediaID: String
    public var needOpenComment: Bool
    public var onlyFansCanComment: Bool
    public var picCrop2351: String
    public var picCrop11: String
    /// A picture post's images: permanent image materials.
    public var imageMediaIDs: [String]
    /// Where the article is read: set in answers, never sent.
    public var url: String?
    /// A published article the user deleted since (`freepublish/...` answers only).
    public var isDeleted: Bool

    public static let newsType = "news"
    public static let pictureType = "newspic"

    public init(
        title: String, content: String, thumbMediaID: String, author: String = "", digest: String = "",
        contentSourceURL: String = "", needOpenComment: Bool = false, onlyFansCanComment: Bool = false,
        picCrop2351: String = "", picCrop11: String = "", articleType: String = DraftArticle.newsType,
        imageMediaIDs: [String] = [], url: String? = nil, isDeleted: Bool = false
    ) {
        self.articleType = articleType
        self.title = title
        self.author = author
        self.digest = digest
        self.content = content
        self.contentSourceURL = contentSourceURL
        self.thumbMediaID = thumbMediaID
        self.needOpenComment = needOpenComment
        self.onlyFansCanComment = onlyFansCanComment
        self.picCrop2351 = picCrop2351
        self.picCrop11 = picCrop11
        self.imageMediaIDs = imageMediaIDs
        self.url = url
        self.isDeleted = isDeleted
    }

    /// The ARTICLE object a request sends (empty optional fields left out).
    var requestObject: [String: any Sendable] {
        var object: [String: any Sendable] = [
            "article_type": articleType, "title": title, "content": content,
            "need_open_comment": needOpenComment ? 1 : 0, "only_fans_can_comment": onlyFansCanComment ? 1 : 0,
        ]
        for (key, value) in [
            ("author", author), ("digest", digest), ("content_source_url", contentSourceURL),
            ("thumb_media_id", thumbMediaID), ("pic_crop_235_1", picCrop2351), ("pic_crop_1_1", picCrop11),
        ] where !value.isEmpty {
            object[key] = value
        }
        if !imageMediaIDs.isEmpty {
            object["image_info"] = ["image_list": imageMediaIDs.map { ["image_media_id": $0] }]
        }
        return object
    }
}
