import Foundation
import WeChatMedia

/// One article of a draft or of a published message, as `draft/add` took it (its body's
/// foreign images already stripped).
struct StoredArticle: Codable, Sendable, Equatable {
    var articleType: String
    var title: String
    var author: String
    var digest: String
    var content: String
    var contentSourceURL: String
    var thumbMediaID: String
    var needOpenComment: Int
    var onlyFansCanComment: Int
    var picCrop2351: String
    var picCrop11: String
    /// A picture post's (`newspic`) images: permanent image ids.
    var imageMediaIDs: [String]

    /// The article as `draft/get`, `draft/batchget` and `freepublish/getarticle` show it, with
    /// the URL it is read at; without `content` when the caller asked for none.
    func json(url: String, withContent: Bool = true) -> [String: any Sendable] {
        var object: [String: any Sendable] = [
            "article_type": articleType, "title": title, "author": author, "digest": digest,
            "content_source_url": contentSourceURL, "thumb_media_id": thumbMediaID,
            "need_open_comment": needOpenComment, "only_fans_can_comment": onlyFansCanComment,
            "pic_crop_235_1": picCrop2351, "pic_crop_1_1": picCrop11, "url": url,
        ]
        if withContent { object["content"] = content }
        if articleType == StoredArticle.pictureType {
            object["image_info"] = ["image_list": imageMediaIDs.map { ["image_media_id": $0] }]
        }
        return object
    }

    static let newsType = "news"
    static let pictureType = "newspic"
}
