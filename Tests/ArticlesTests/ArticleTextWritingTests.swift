import Articles
import Testing
import WeChatMedia

@Suite("A server's article written as an article file reads back the same")
struct ServerArticleTextTests {
    @Test(arguments: ["Console: \"news\"/today", "2024", "yes", "1.10", "猫 # not a comment", "a\\b"])
    func fieldsReadBackAsWritten(title: String) throws {
        let draft = DraftArticle(
            title: title, content: "<p>Body</p>", thumbMediaID: "abcdefghijklmnopqrstuvwxyz012345",
            author: "ed: \"x\"", digest: "null", contentSourceURL: "https://e.com/a?b=1#c", needOpenComment: true,
            onlyFansCanComment: true)
        let text = try ArticleText.html(of: draft)
        let article = try Article.parse(name: "1-a.html", format: .html, bytes: Array(text.utf8))
        #expect(article.fields.title == title && article.fields.author == "ed: \"x\"", "\(text)")
        #expect(article.fields.digest == "null" && article.fields.sourceURL == "https://e.com/a?b=1#c")
        #expect(article.fields.comments == .fans)
        #expect(article.cover == .mediaID("abcdefghijklmnopqrstuvwxyz012345"))
        #expect(article.html == "<p>Body</p>")
    }
}
