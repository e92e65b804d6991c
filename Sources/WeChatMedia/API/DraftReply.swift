import Foundation

/// The JSON answers of the draft and publishing calls (`draft/...`, `freepublish/...`). As in
/// `MaterialReply`, every field is kept as sent and judged by the accessors, which refuse what
/// cannot be true with `TransportError.invalidResponse` naming the field: a hostile answer is a
/// typed error, never a crash or a value taken on trust.
public struct DraftReply: Decodable, Sendable {
    var mediaID: JSONScalar?
    var articleID: JSONScalar?
    var totalCount: JSONScalar?
    var itemCount: JSONScalar?
    var publishID: JSONScalar?
    var msgDataID: JSONScalar?
    var publishStatus: JSONScalar?
    var newsItems: Listed<NewsItem>?
    var items: Listed<Item>?
    var articleDetail: Detail?
    var failIndexes: Listed<JSONScalar>?
    /// `article_detail` was sent but is not an object.
    var malformedDetail = false

    /// A JSON list as sent: its elements, or nil when it was not a list of that shape.
    struct Listed<Element: Decodable & Sendable>: Decodable, Sendable {
        var elements: [Element]?

        init(from decoder: any Decoder) throws {
            elements = try? decoder.singleValueContainer().decode([Element].self)
        }
    }

    /// One article as an answer shows it.
    struct NewsItem: Decodable, Sendable {
        var fields: [String: JSONScalar] = [:]
        var imageIDs: Listed<ImageID>?
        var malformedImageInfo = false

        struct ImageID: Decodable, Sendable {
            var id: JSONScalar?
            enum CodingKeys: String, CodingKey { case id = "image_media_id" }
        }

        private struct ImageInfo: Decodable {
            var list: Listed<ImageID>?
            enum CodingKeys: String, CodingKey { case list = "image_list" }
        }

        static let scalarKeys = [
            "article_type", "title", "author", "digest", "content", "content_source_url", "thumb_media_id",
            "need_open_comment", "only_fans_can_comment", "pic_crop_235_1", "pic_crop_1_1", "url", "is_deleted",
        ]

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            for key in Self.scalarKeys {
                let codingKey = Key(stringValue: key)
                guard c.contains(codingKey) else { continue }
                // A JSON bool (is_deleted) is kept as 1 or 0; anything else as JSONScalar sees it.
                if let flag = try? c.decode(Bool.self, forKey: codingKey) {
                    fields[key] = .integer(flag ? 1 : 0)
                } else if let value = try? c.decode(JSONScalar.self, forKey: codingKey) {
                    fields[key] = value
                }
            }
            let infoKey = Key(stringValue: "image_info")
            if c.contains(infoKey) {
                let info = try? c.decode(ImageInfo.self, forKey: infoKey)
                imageIDs = info?.list
                malformedImageInfo = info == nil
            }
        }
    }

    /// One entry of a listing: a draft (`media_id`) or a published message (`article_id`).
    struct Item: Decodable, Sendable {
        var mediaID: JSONScalar?
        var articleID: JSONScalar?
        var updateTime: JSONScalar?
        var content: Content?

        struct Content: Decodable, Sendable {
            var newsItems: Listed<NewsItem>?
            enum CodingKeys: String, CodingKey { case newsItems = "news_item" }
        }

        enum CodingKeys: String, CodingKey {
            case mediaID = "media_id"
            case articleID = "article_id"
            case updateTime = "update_time"
            case content
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mediaID = try? c.decodeIfPresent(JSONScalar.self, forKey: .mediaID)
            articleID = try? c.decodeIfPresent(JSONScalar.self, forKey: .articleID)
            updateTime = try? c.decodeIfPresent(JSONScalar.self, forKey: .updateTime)
            content = try? c.decodeIfPresent(Content.self, forKey: .content)
        }
    }

    /// `article_detail`: `{"count","item":[{"idx","article_url"}]}`.
    struct Detail: Decodable, Sendable {
        var count: JSONScalar?
        var items: Listed<Entry>?

        struct Entry: Decodable, Sendable {
            var index: JSONScalar?
            var url: JSONScalar?
            enum CodingKeys: String, CodingKey {
                case index = "idx"
                case url = "article_url"
            }
        }

        enum CodingKeys: String, CodingKey {
            case count
            case items = "item"
        }
    }

    enum CodingKeys: String, CodingKey {
        case mediaID = "media_id"
        case articleID = "article_id"
        case totalCount = "total_count"
        case itemCount = "item_count"
        case publishID = "publish_id"
        case msgDataID = "msg_data_id"
        case publishStatus = "publish_status"
        case newsItems = "news_item"
        case items = "item"
        case articleDetail = "article_detail"
        case failIndexes = "fail_idx"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mediaID = try? c.decodeIfPresent(JSONScalar.self, forKey: .mediaID)
        articleID = try? c.decodeIfPresent(JSONScalar.self, forKey: .articleID)
        totalCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .totalCount)
        itemCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .itemCount)
        publishID = try? c.decodeIfPresent(JSONScalar.self, forKey: .publishID)
        msgDataID = try? c.decodeIfPresent(JSONScalar.self, forKey: .msgDataID)
        publishStatus = try? c.decodeIfPresent(JSONScalar.self, forKey: .publishStatus)
        newsItems = try? c.decodeIfPresent(Listed<NewsItem>.self, forKey: .newsItems)
        items = try? c.decodeIfPresent(Listed<Item>.self, forKey: .items)
        failIndexes = try? c.decodeIfPresent(Listed<JSONScalar>.self, forKey: .failIndexes)
        if c.contains(.articleDetail) {
            articleDetail = try? c.decode(Detail.self, forKey: .articleDetail)
            malformedDetail = articleDetail == nil
        }
    }

    public static func parse(_ bytes: some Collection<UInt8>) throws(TransportError) -> DraftReply {
        do {
            return try JSONDecoder().decode(DraftReply.self, from: Data(bytes))
        } catch {
            let preview = String(decoding: bytes.prefix(80), as: UTF8.self)
            throw .invalidResponse("not the API's JSON: \(Redaction.redact(preview))")
        }
    }
}
