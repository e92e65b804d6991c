/// A folder that can become a draft: its articles in order, and each of its pictures once,
/// with what it is used for (which decides how it is uploaded, see `PictureUpload`).
public struct DraftPlan: Hashable, Sendable {
    /// In name order, at most `DraftLimits.articles`.
    public var articles: [Article]
    /// Assets no article uses: not uploaded, worth a log line (a misspelt reference?).
    public var unusedAssets: [String]

    public init(articles: [Article], unusedAssets: [String]) {
        self.articles = articles
        self.unusedAssets = unusedAssets
    }

    /// Each of the folder's pictures the draft needs, by path, once, in order of first use
    /// (an article's body pictures, then its cover), with all its uses across the articles.
    public var pictures: [(path: String, use: PictureUse)] {
        var order: [String] = []
        var uses: [String: PictureUse] = [:]
        func note(_ path: String, _ use: PictureUse) {
            if uses[path] == nil { order.append(path) }
            uses[path, default: []].formUnion(use)
        }
        for article in articles {
            article.pictures.forEach { note($0, .body) }
            if case .folderFile(let path) = article.cover { note(path, .cover) }
        }
        return order.map { ($0, uses[$0] ?? []) }
    }
}

/// What a picture of the folder is used for in a draft.
public struct PictureUse: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Shown in an article's content (`<img src>`).
    public static let body = PictureUse(rawValue: 1 << 0)
    /// An article's cover (`thumb_media_id`).
    public static let cover = PictureUse(rawValue: 1 << 1)
}
