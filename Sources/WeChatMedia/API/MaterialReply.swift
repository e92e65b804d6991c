import Foundation

/// The JSON answers of the permanent-material calls (`add_material`, a video's `get_material`,
/// `batchget_material`, `get_materialcount`, `media/uploadimg`). As in `APIReply`, every field is
/// kept as sent and judged by the accessors, which refuse what cannot be true with
/// `TransportError.invalidResponse` naming the field.
public struct MaterialReply: Decodable, Sendable {
    public var mediaID: JSONScalar?
    public var url: JSONScalar?
    public var title: JSONScalar?
    public var description: JSONScalar?
    public var downURL: JSONScalar?
    public var totalCount: JSONScalar?
    public var itemCount: JSONScalar?
    public var items: [Item]?
    public var imageCount: JSONScalar?
    public var voiceCount: JSONScalar?
    public var videoCount: JSONScalar?
    public var newsCount: JSONScalar?

    /// One entry of a listing.
    public struct Item: Decodable, Sendable {
        public var mediaID: JSONScalar?
        public var name: JSONScalar?
        public var updateTime: JSONScalar?
        public var url: JSONScalar?

        enum CodingKeys: String, CodingKey {
            case mediaID = "media_id"
            case name
            case updateTime = "update_time"
            case url
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mediaID = try? c.decodeIfPresent(JSONScalar.self, forKey: .mediaID)
            name = try? c.decodeIfPresent(JSONScalar.self, forKey: .name)
            updateTime = try? c.decodeIfPresent(JSONScalar.self, forKey: .updateTime)
            url = try? c.decodeIfPresent(JSONScalar.self, forKey: .url)
        }
    }

    enum CodingKeys: String, CodingKey {
        case mediaID = "media_id"
        case url, title, description
        case downURL = "down_url"
        case totalCount = "total_count"
        case itemCount = "item_count"
        case items = "item"
        case imageCount = "image_count"
        case voiceCount = "voice_count"
        case videoCount = "video_count"
        case newsCount = "news_count"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mediaID = try? c.decodeIfPresent(JSONScalar.self, forKey: .mediaID)
        url = try? c.decodeIfPresent(JSONScalar.self, forKey: .url)
        title = try? c.decodeIfPresent(JSONScalar.self, forKey: .title)
        description = try? c.decodeIfPresent(JSONScalar.self, forKey: .description)
        downURL = try? c.decodeIfPresent(JSONScalar.self, forKey: .downURL)
        totalCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .totalCount)
        itemCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .itemCount)
        if c.contains(.items) {
            // An `item` that is not a list of objects is remembered, so `page` refuses it by name.
            items = try? c.decode([Item].self, forKey: .items)
            malformedItems = items == nil
        }
        imageCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .imageCount)
        voiceCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .voiceCount)
        videoCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .videoCount)
        newsCount = try? c.decodeIfPresent(JSONScalar.self, forKey: .newsCount)
    }

    private var malformedItems = false

    public static func parse(_ bytes: some Collection<UInt8>) throws(TransportError) -> MaterialReply {
        do {
            return try JSONDecoder().decode(MaterialReply.self, from: Data(bytes))
        } catch {
            let preview = String(decoding: bytes.prefix(80), as: UTF8.self)
            throw .invalidResponse("not the API's JSON: \(Redaction.redact(preview))")
        }
    }

    // MARK: Fields judged where they enter

    /// The most a library can hold by the docs is 100,000 images; a count far past it is not true.
    public static let plausibleCount: ClosedRange<Int64> = 0...10_000_000
    /// Longest name accepted from a listing (it becomes a file name after the mount's rule).
    public static let maxNameBytes = 4096
    /// Longest URL accepted.
    public static let maxURLBytes = 4096

    /// `add_material`'s `media_id`: an opaque id, as for temporary media.
    public func addedMediaID() throws(TransportError) -> String {
        try Self.mediaID(mediaID, in: "add_material reply")
    }

    /// An http(s) URL of at most `maxURLBytes`: `url` of an image, `down_url` of a video,
    /// `url` of an article image. Nil when `field` is absent and not `required`.
    public func httpURL(_ field: KeyPath<MaterialReply, JSONScalar?>, named name: String, required: Bool)
        throws(TransportError) -> String?
    {
        guard let value = self[keyPath: field] else {
            if required { throw .invalidResponse("reply without \(name)") }
            return nil
        }
        return try Self.httpURL(value, named: name)
    }

    /// A video's `title` and `description`: text (absent is empty).
    public func videoText() throws(TransportError) -> (title: String, description: String) {
        func text(_ value: JSONScalar?, _ name: String) throws(TransportError) -> String {
            switch value {
            case nil: return ""
            case .text(let text)?: return text
            case let other?: throw .invalidResponse("get_material reply: \(name) \(other) is not text")
            }
        }
        return (try text(title, "title"), try text(description, "description"))
    }

    /// A `batchget_material` page asked at `offset` for at most `count` items: `total_count`
    /// plausible, `item_count` equal to the items given, no more items than asked, none past
    /// the total, and every item's id, name, time and URL well formed.
    public func page(offset: Int, count: Int) throws(TransportError) -> MaterialPage {
        guard let total = totalCount?.integerValue, Self.plausibleCount.contains(total) else {
            throw .invalidResponse(
                "batchget_material reply: total_count \(totalCount.map(\.description) ?? "absent") is not a count in "
                    + "\(Self.plausibleCount.lowerBound)...\(Self.plausibleCount.upperBound)")
        }
        guard !malformedItems else { throw .invalidResponse("batchget_material reply: item is not a list of items") }
        let items = self.items ?? []
        guard let stated = itemCount?.integerValue, stated == Int64(items.count) else {
            throw .invalidResponse(
                "batchget_material reply: item_count \(itemCount.map(\.description) ?? "absent") disagrees with "
                    + "\(items.count) items")
        }
        guard items.count <= count else {
            throw .invalidResponse("batchget_material reply: \(items.count) items where at most \(count) were asked")
        }
        guard Int64(offset) + Int64(items.count) <= total else {
            throw .invalidResponse(
                "batchget_material reply: items \(offset)..<\(offset + items.count) past total_count \(total)")
        }
        var parsed: [MaterialItem] = []
        parsed.reserveCapacity(items.count)
        for item in items {
            let id = try Self.mediaID(item.mediaID, in: "batchget_material item")
            guard case .text(let name)? = item.name, name.utf8.count <= Self.maxNameBytes else {
                throw .invalidResponse(
                    "batchget_material item \(id): name \(item.name.map(\.description) ?? "absent") is not text of "
                        + "at most \(Self.maxNameBytes) bytes")
            }
            guard let time = item.updateTime?.integerValue, ServerTime.isPlausible(time) else {
                throw .invalidResponse(
                    "batchget_material item \(id): update_time \(item.updateTime.map(\.description) ?? "absent") is "
                        + "not Unix seconds in \(ServerTime.plausibleRangeDescription)")
            }
            let url = try item.url.map { value throws(TransportError) in try Self.httpURL(value, named: "url") }
            parsed.append(MaterialItem(mediaID: id, name: name, updateTime: time, url: url))
        }
        return MaterialPage(totalCount: Int(total), items: parsed)
    }

    /// `get_materialcount`'s four counts, each plausible (absent is 0).
    public func counts() throws(TransportError) -> MaterialCounts {
        func count(_ value: JSONScalar?, _ name: String) throws(TransportError) -> Int {
            guard let value else { return 0 }
            guard let number = value.integerValue, Self.plausibleCount.contains(number) else {
                throw .invalidResponse("get_materialcount reply: \(name) \(value) is not a count")
            }
            return Int(number)
        }
        return MaterialCounts(
            image: try count(imageCount, "image_count"), voice: try count(voiceCount, "voice_count"),
            video: try count(videoCount, "video_count"), news: try count(newsCount, "news_count"))
    }

    private static func mediaID(_ value: JSONScalar?, in context: String) throws(TransportError) -> String {
        guard case .text(let id)? = value, OpaqueID.isWellFormed(id, maxLength: APIReply.maxMediaIDLength) else {
            throw .invalidResponse(
                "\(context): media_id \(value.map(\.description) ?? "absent") is not an id of "
                    + "1-\(APIReply.maxMediaIDLength) characters [A-Za-z0-9_-]")
        }
        return id
    }

    private static func httpURL(_ value: JSONScalar, named name: String) throws(TransportError) -> String {
        guard case .text(let text) = value, isHTTPURL(text) else {
            throw .invalidResponse("\(name) \(value) is not an http(s) URL")
        }
        return text
    }

    /// An absolute http(s) URL with a host, of a plausible length: what a `url` or `down_url`
    /// must be before anything fetches it or shows it.
    public static func isHTTPURL(_ text: String) -> Bool {
        guard text.utf8.count <= maxURLBytes, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased()
        else { return false }
        return (scheme == "http" || scheme == "https") && components.host?.isEmpty == false
    }
}

/// One page of a type's material listing.
public struct MaterialPage: Sendable, Equatable {
    public var totalCount: Int
    public var items: [MaterialItem]

    public init(totalCount: Int, items: [MaterialItem]) {
        self.totalCount = totalCount
        self.items = items
    }
}

/// A material as a listing shows it.
public struct MaterialItem: Sendable, Equatable {
    public var mediaID: String
    /// The uploader's file name, as the server keeps it: not unique, any characters.
    public var name: String
    public var updateTime: Int64
    /// Images only.
    public var url: String?

    public init(mediaID: String, name: String, updateTime: Int64, url: String?) {
        self.mediaID = mediaID
        self.name = name
        self.updateTime = updateTime
        self.url = url
    }
}

/// `get_materialcount`'s answer.
public struct MaterialCounts: Sendable, Equatable {
    public var image: Int
    public var voice: Int
    public var video: Int
    public var news: Int

    public init(image: Int, voice: Int, video: Int, news: Int) {
        self.image = image
        self.voice = voice
        self.video = video
        self.news = news
    }
}
