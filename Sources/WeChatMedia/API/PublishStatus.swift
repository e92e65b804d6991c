/// What `freepublish/submit` answers: the job's id, and the message's.
public struct PublishSubmission: Sendable, Equatable {
    /// Digits (the platform sends them as a number or a string).
    public var publishID: String
    public var msgDataID: String?

    public init(publishID: String, msgDataID: String?) {
        self.publishID = publishID
        self.msgDataID = msgDataID
    }
}

/// `publish_status` of a publish job.
public enum PublishState: Int, Sendable, Equatable, CaseIterable {
    case published = 0
    case publishing = 1
    case originalCheckFailed = 2
    case failed = 3
    case refusedByReview = 4
    case deletedByUser = 5
    case banned = 6

    /// Whether the job is over (anything but publishing).
    public var isFinished: Bool { self != .publishing }
}

/// What `freepublish/get` answers about a job.
public struct PublishStatus: Sendable, Equatable {
    public var publishID: String
    public var state: PublishState
    /// Once published.
    public var articleID: String?
    /// Each article's URL by its index from 1, once published.
    public var articleURLs: [PublishedURL]
    /// The articles at fault (from 1) when it failed.
    public var failIndexes: [Int]

    public init(
        publishID: String, state: PublishState, articleID: String?, articleURLs: [PublishedURL], failIndexes: [Int]
    ) {
        self.publishID = publishID
        self.state = state
        self.articleID = articleID
        self.articleURLs = articleURLs
        self.failIndexes = failIndexes
    }
}

/// One entry of `article_detail.item`.
public struct PublishedURL: Sendable, Equatable {
    /// From 1.
    public var index: Int
    public var url: String

    public init(index: Int, url: String) {
        self.index = index
        self.url = url
    }
}
