/// What a listing shows of a draft or a published message.
protocol ListedRecord: Sendable {
    var id: String { get }
    var updateTime: Int64 { get }
    var articles: [StoredArticle] { get }
    /// Which articles the user deleted since, for records that can have some.
    var deletedFlags: [Bool]? { get }
}

/// A draft in the draft box: its articles, in order.
struct StoredDraft: Codable, Sendable, ListedRecord {
    var id: String
    var articles: [StoredArticle]
    var updateTime: Int64
    /// Orders the box: listings are newest first, and two adds in one second stay in order.
    var sequence: Int64

    var deletedFlags: [Bool]? { nil }
}

/// A `freepublish/submit` job: publishing until `readyAt` on the emulator's clock, then ended
/// as `outcome` says.
struct PublishJob: Codable, Sendable {
    var publishID: Int64
    var msgDataID: Int64
    var draftID: String
    var readyAt: Int64
    var outcome: PublishOutcome
    /// 1 while publishing; then the outcome's status, and 5 once the published message is deleted.
    var status: Int
    var articleID: String?
    var articleCount: Int
}

/// How a publish ends: 0 published, or failed with 2 (original check), 3 (failed) or 4 (refused
/// by review) and the 1-based indexes of the articles at fault.
struct PublishOutcome: Codable, Sendable, Equatable {
    var status: Int
    var failIndexes: [Int]

    static let published = PublishOutcome(status: 0, failIndexes: [])
    /// The statuses a test may make the next publish end with.
    static let failures: ClosedRange<Int> = 2...4
}

/// A published message: its articles, and which of them the user deleted since.
struct PublishedMessage: Codable, Sendable, ListedRecord {
    var id: String
    var publishID: Int64
    var articles: [StoredArticle]
    var deleted: [Bool]
    var updateTime: Int64
    var sequence: Int64

    var deletedFlags: [Bool]? { deleted }
}
