/// Every field of a draft or publishing answer judged where it enters.
extension DraftReply {
    /// Longest text field taken from an article other than its content.
    public static let maxFieldBytes = 4096
    /// Longest content taken: the platform keeps it under 1 MB; four times that is not an article.
    public static let maxContentBytes = 4 * 1024 * 1024
    /// Draft box and published counts: a count far past any account's is not true.
    public static let plausibleCount: ClosedRange<Int64> = 0...10_000_000

    /// `draft/add`'s `media_id`.
    public func draftID() throws(TransportError) -> String {
        try Self.opaqueID(mediaID, named: "media_id", in: "draft/add reply")
    }

    /// `news_item` of `draft/get` or `freepublish/getarticle`: 1 to 8 articles.
    public func articles(in context: String) throws(TransportError) -> [DraftArticle] {
        try Self.articles(newsItems, in: context, withContent: true)
    }

    /// `total_count` of `draft/count`.
    public func count() throws(TransportError) -> Int {
        try Self.count(totalCount, named: "total_count", in: "draft/count reply")
    }

    /// A `draft/batchget` page asked at `offset` for at most `count` drafts.
    public func draftPage(offset: Int, count: Int, withContent: Bool) throws(TransportError) -> DraftPage {
        let page = try listing(
            offset: offset, count: count, withContent: withContent, id: \.mediaID, named: "media_id",
            in: "draft/batchget reply")
        return DraftPage(
            totalCount: page.total,
            items: page.items.map { DraftItem(mediaID: $0.id, updateTime: $0.updateTime, articles: $0.articles) })
    }

    /// A `freepublish/batchget` page asked at `offset` for at most `count` messages.
    public func publishedPage(offset: Int, count: Int, withContent: Bool) throws(TransportError) -> PublishedPage {
        let page = try listing(
            offset: offset, count: count, withContent: withContent, id: \.articleID, named: "article_id",
            in: "freepublish/batchget reply")
        return PublishedPage(
            totalCount: page.total,
            items: page.items.map {
                PublishedItem(articleID: $0.id, updateTime: $0.updateTime, articles: $0.articles)
            })
    }

    /// `freepublish/submit`'s `publish_id` and `msg_data_id`.
    public func submission() throws(TransportError) -> PublishSubmission {
        let context = "freepublish/submit reply"
        return PublishSubmission(
            publishID: try Self.numberID(publishID, named: "publish_id", in: context),
            msgDataID: try msgDataID.map { value throws(TransportError) in
                try Self.numberID(value, named: "msg_data_id", in: context)
            })
    }

    /// `freepublish/get`'s answer about the job `asked`: its id the one asked, `publish_status`
    /// 0 to 6, once published an `article_id` and `article_detail` whose `count` is its items'
    /// and whose items are indexes 1...count with http(s) URLs, `fail_idx` within the articles
    /// (1...count, or 1...8 when the answer does not say how many there are).
    public func status(asked: String) throws(TransportError) -> PublishStatus {
        let context = "freepublish/get reply"
        let id = try Self.numberID(publishID, named: "publish_id", in: context)
        guard id == asked else { throw .invalidResponse("\(context): publish_id \(id) is not the one asked, \(asked)") }
        guard let raw = publishStatus?.integerValue, let state = PublishState(rawValue: Int(exactly: raw) ?? -1) else {
            throw .invalidResponse(
                "\(context): publish_status \(publishStatus.map(\.description) ?? "absent") is not 0 to 6")
        }
        let article = try articleID.map { value throws(TransportError) in
            try Self.opaqueID(value, named: "article_id", in: context)
        }
        guard !malformedDetail else { throw .invalidResponse("\(context): article_detail is not an object") }
        var urls: [PublishedURL] = []
        if let detail = articleDetail {
            let entries = detail.items?.elements ?? []
            guard detail.items == nil || detail.items?.elements != nil else {
                throw .invalidResponse("\(context): article_detail.item is not a list")
            }
            guard let stated = detail.count?.integerValue, stated == Int64(entries.count),
                entries.count <= DraftLimits.articles
            else {
                throw .invalidResponse(
                    "\(context): article_detail.count \(detail.count.map(\.description) ?? "absent") disagrees with "
                        + "\(entries.count) items (at most \(DraftLimits.articles))")
            }
            for entry in entries {
                guard let index = entry.index?.integerValue, (1...Int64(entries.count)).contains(index) else {
                    throw .invalidResponse(
                        "\(context): idx \(entry.index.map(\.description) ?? "absent") is not 1 to \(entries.count)")
                }
                guard case .text(let url)? = entry.url, MaterialReply.isHTTPURL(url) else {
                    throw .invalidResponse(
                        "\(context): article_url \(entry.url.map(\.description) ?? "absent") is not an http(s) URL")
                }
                urls.append(PublishedURL(index: Int(index), url: url))
            }
        }
        guard failIndexes == nil || failIndexes?.elements != nil else {
            throw .invalidResponse("\(context): fail_idx is not a list")
        }
        guard state != .published || article != nil else {
            throw .invalidResponse("\(context): published without an article_id")
        }
        // The articles' count when the answer gives it, else the most a draft holds.
        let articleCount = articleDetail == nil ? DraftLimits.articles : urls.count
        let failed = failIndexes?.elements ?? []
        var failIndexes: [Int] = []
        for value in failed {
            guard let index = value.integerValue, (1...Int64(max(articleCount, 1))).contains(index),
                failed.count <= articleCount
            else {
                throw .invalidResponse("\(context): fail_idx \(value) is not an article index 1 to \(articleCount)")
            }
            failIndexes.append(Int(index))
        }
        return PublishStatus(
            publishID: id, state: state, articleID: article, articleURLs: urls, failIndexes: failIndexes)
    }

    // MARK: Pieces

    /// A listing's entries judged: each one's id (the field `id` names), time and articles.
    private func listing(
        offset: Int, count: Int, withContent: Bool, id: KeyPath<Item, JSONScalar?>, named name: String,
        in context: String
    ) throws(TransportError) -> (total: Int, items: [(id: String, updateTime: Int64, articles: [DraftArticle])]) {
        let (total, listed) = try page(offset: offset, count: count, in: context)
        var entries: [(id: String, updateTime: Int64, articles: [DraftArticle])] = []
        for item in listed {
            entries.append(
                (
                    try Self.opaqueID(item[keyPath: id], named: name, in: context),
                    try Self.time(item.updateTime, in: context),
                    try Self.articles(item.content?.newsItems, in: context, withContent: withContent)
                ))
        }
        return (total, entries)
    }

    /// A listing's `total_count` plausible, `item_count` equal to its items, no more items than
    /// asked and none past the total.
    private func page(offset: Int, count: Int, in context: String) throws(TransportError) -> (Int, [Item]) {
        let total = try Self.count(totalCount, named: "total_count", in: context)
        guard items == nil || items?.elements != nil else { throw .invalidResponse("\(context): item is not a list") }
        let listed = items?.elements ?? []
        guard let stated = itemCount?.integerValue, stated == Int64(listed.count) else {
            throw .invalidResponse(
                "\(context): item_count \(itemCount.map(\.description) ?? "absent") disagrees with \(listed.count) items"
            )
        }
        guard listed.count <= count else {
            throw .invalidResponse("\(context): \(listed.count) items where at most \(count) were asked")
        }
        guard Int64(offset) + Int64(listed.count) <= Int64(total) else {
            throw .invalidResponse("\(context): items \(offset)..<\(offset + listed.count) past total_count \(total)")
        }
        return (total, listed)
    }

    private static func articles(_ list: Listed<NewsItem>?, in context: String, withContent: Bool)
        throws(TransportError) -> [DraftArticle]
    {
        guard let items = list?.elements, (1...DraftLimits.articles).contains(items.count) else {
            throw .invalidResponse("\(context): news_item is not a list of 1 to \(DraftLimits.articles) articles")
        }
        var articles: [DraftArticle] = []
        for item in items { articles.append(try article(item, in: context, withContent: withContent)) }
        return articles
    }

    private static func article(_ item: NewsItem, in context: String, withContent: Bool) throws(TransportError)
        -> DraftArticle
    {
        func text(_ key: String, limit: Int = maxFieldBytes) throws(TransportError) -> String {
            switch item.fields[key] {
            case nil: return ""
            case .text(let text)? where text.utf8.count <= limit: return text
            case let other?:
                throw .invalidResponse("\(context): \(key) \(other) is not text of at most \(limit) bytes")
            }
        }
        func flag(_ key: String) throws(TransportError) -> Bool {
            guard let value = item.fields[key] else { return false }
            guard let number = value.integerValue, number == 0 || number == 1 else {
                throw .invalidResponse("\(context): \(key) \(value) is not 0 or 1")
            }
            return number == 1
        }
        let title = try text("title")
        let content = try text("content", limit: maxContentBytes)
        guard !title.isEmpty, !withContent || !content.isEmpty else {
            throw .invalidResponse("\(context): an article without title or content")
        }
        let thumb = try text("thumb_media_id")
        if !thumb.isEmpty { _ = try opaqueID(.text(thumb), named: "thumb_media_id", in: context) }
        var images: [String] = []
        guard !item.malformedImageInfo, item.imageIDs == nil || item.imageIDs?.elements != nil else {
            throw .invalidResponse("\(context): image_info is not {\"image_list\":[...]}")
        }
        for image in item.imageIDs?.elements ?? [] {
            images.append(try opaqueID(image.id, named: "image_media_id", in: context))
        }
        let url = try text("url")
        guard url.isEmpty || MaterialReply.isHTTPURL(url) else {
            throw .invalidResponse("\(context): url \(JSONScalar.text(url)) is not an http(s) URL")
        }
        let type = try text("article_type")
        return DraftArticle(
            title: title, content: content, thumbMediaID: thumb, author: try text("author"),
            digest: try text("digest"), contentSourceURL: try text("content_source_url"),
            needOpenComment: try flag("need_open_comment"), onlyFansCanComment: try flag("only_fans_can_comment"),
            picCrop2351: try text("pic_crop_235_1"), picCrop11: try text("pic_crop_1_1"),
            articleType: type.isEmpty ? DraftArticle.newsType : type, imageMediaIDs: images,
            url: url.isEmpty ? nil : url, isDeleted: try flag("is_deleted"))
    }

    private static func count(_ value: JSONScalar?, named name: String, in context: String) throws(TransportError)
        -> Int
    {
        guard let number = value?.integerValue, plausibleCount.contains(number) else {
            throw .invalidResponse(
                "\(context): \(name) \(value.map(\.description) ?? "absent") is not a count in "
                    + "\(plausibleCount.lowerBound)...\(plausibleCount.upperBound)")
        }
        return Int(number)
    }

    private static func time(_ value: JSONScalar?, in context: String) throws(TransportError) -> Int64 {
        guard let time = value?.integerValue, ServerTime.isPlausible(time) else {
            throw .invalidResponse(
                "\(context): update_time \(value.map(\.description) ?? "absent") is not Unix seconds in "
                    + ServerTime.plausibleRangeDescription)
        }
        return time
    }

    static func opaqueID(_ value: JSONScalar?, named name: String, in context: String) throws(TransportError)
        -> String
    {
        guard case .text(let id)? = value, OpaqueID.isWellFormed(id, maxLength: APIReply.maxMediaIDLength) else {
            throw .invalidResponse(
                "\(context): \(name) \(value.map(\.description) ?? "absent") is not an id of "
                    + "1-\(APIReply.maxMediaIDLength) characters [A-Za-z0-9_-]")
        }
        return id
    }

    /// A publish or message id: a non-negative number, sent as a number or a string of digits.
    private static func numberID(_ value: JSONScalar?, named name: String, in context: String) throws(TransportError)
        -> String
    {
        guard let number = value?.integerValue, number >= 0 else {
            throw .invalidResponse(
                "\(context): \(name) \(value.map(\.description) ?? "absent") is not a non-negative 64-bit number")
        }
        return String(number)
    }
}
