/// Who may comment on an article: `comments: open|fans|closed` in the front matter.
public enum CommentPolicy: String, Hashable, Sendable, CaseIterable {
    case open
    case fans
    case closed

    /// The platform's default when an article says nothing: comments off.
    public static let `default` = CommentPolicy.closed

    /// `need_open_comment` of the article (0/1).
    public var needOpenComment: Int { self == .closed ? 0 : 1 }

    /// `only_fans_can_comment` of the article (0/1).
    public var onlyFansCanComment: Int { self == .fans ? 1 : 0 }
}

extension CommentPolicy {
    /// The policy of a draft's two flags (`only_fans_can_comment` counts only with comments on).
    public init(needOpenComment: Bool, onlyFansCanComment: Bool) {
        self = !needOpenComment ? .closed : onlyFansCanComment ? .fans : .open
    }
}
