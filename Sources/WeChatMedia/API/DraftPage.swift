/// One page of a listing: how many there are in all, and the page's items.
public struct ListingPage<Item: Sendable & Equatable>: Sendable, Equatable {
    public var totalCount: Int
    public var items: [Item]

    public init(totalCount: Int, items: [Item]) {
        self.totalCount = totalCount
        self.items = items
    }
}

/// One page of the draft box (`draft/batchget`).
public typealias DraftPage = ListingPage<DraftItem>

/// One page of published messages (`freepublish/batchget`).
public typealias PublishedPage = ListingPage<PublishedItem>

/// A draft as a listing shows it.
public struct DraftItem: Sendable, Equatable {
    public var mediaID: String
    public var updateTime: Int64
    public var articles: [DraftArticle]

    public init(mediaID: String, updateTime: Int64, articles: [DraftArticle]) {
        self.mediaID = mediaID
        self.updateTime = updateTime
        self.articles = articles
    }
}

/// A published message as a listing shows it.
public struct PublishedItem: Sendable, Equatable {
    public var articleID: String
    public var updateTime: Int64
    public var articles: [DraftArticle]

    public init(articleID: String, updateTime: Int64, articles: [DraftArticle]) {
        self.articleID = articleID
        self.updateTime = updateTime
        self.articles = articles
    }
}
