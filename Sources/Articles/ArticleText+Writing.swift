import WeChatMedia
import Yams

extension ArticleText {
    /// A draft's article as the text of an HTML article file, what `Article.parse` reads back:
    /// its fields as front matter (double-quoted strings, so nothing reads as a number, a
    /// boolean or a date; the cover as its media id), then its content as stored.
    public static func html(of article: DraftArticle) throws -> String {
        func text(_ value: String) -> Node { Node(value, .implicit, .doubleQuoted) }
        var fields: [(Node, Node)] = [(Node(FrontMatterField.title.rawValue), text(article.title))]
        for (key, value) in [
            (FrontMatterField.author, article.author), (.digest, article.digest), (.cover, article.thumbMediaID),
            (.sourceURL, article.contentSourceURL),
        ] where !value.isEmpty {
            fields.append((Node(key.rawValue), text(value)))
        }
        let comments = CommentPolicy(
            needOpenComment: article.needOpenComment, onlyFansCanComment: article.onlyFansCanComment)
        fields.append((Node(FrontMatterField.comments.rawValue), Node(comments.rawValue)))
        let yaml = try Yams.serialize(node: .mapping(Node.Mapping(fields)), width: -1, allowUnicode: true)
        let content = article.content.hasSuffix("\n") ? article.content : article.content + "\n"
        return "---\n" + yaml + "---\n" + content
    }
}
