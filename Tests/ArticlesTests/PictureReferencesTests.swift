import Articles
import Testing

@Suite("Picture references: found in Markdown and HTML, resolved in the folder, rewritten to URLs")
struct PictureReferencesTests {
    @Test(
        "sources resolve against the folder",
        arguments: [
            ("cat.jpg", PictureSource.local("cat.jpg")),
            ("./cat.jpg", .local("cat.jpg")),
            ("img/./cat.jpg", .local("img/cat.jpg")),
            ("img/../cat.jpg", .local("cat.jpg")),
            ("my%20cat.jpg", .local("my cat.jpg")),
            ("%E7%8C%AB.png", .local("猫.png")),
            ("猫.png", .local("猫.png")),
            ("cat.jpg?v=2#top", .local("cat.jpg")),
            ("100%.png", .local("100%.png")),
            ("https://mmbiz.qpic.cn/a/0?wx_fmt=png", .remote),
            ("http://example.com/a.png", .remote),
            ("data:image/png;base64,iVBORw0KGgo=", .remote),
            ("//example.com/a.png", .remote),
        ])
    func resolves(src: String, expected: PictureSource) throws {
        #expect(try PictureSource.resolve(src) == expected)
    }

    @Test(
        "sources that cannot be the folder's files are refused",
        arguments: [
            ("../cat.jpg", PictureRefusal.outsideFolder),
            ("img/../../cat.jpg", .outsideFolder),
            ("%2E%2E/cat.jpg", .outsideFolder),
            ("..%2Fcat.jpg", .outsideFolder),
            ("/etc/passwd", .absolutePath),
            ("./", .notAFile),
        ])
    func refused(src: String, why: PictureRefusal) {
        #expect(throws: ArticleProblem.pictureRefused(src: src, why: why)) { try PictureSource.resolve(src) }
    }

    @Test func emptySourcesPointNowhere() throws {
        #expect(try PictureSource.resolve("") == nil)
        #expect(try PictureSource.resolve("  ") == nil)
    }

    @Test("each local picture once, in order of first use, from Markdown and raw HTML alike")
    func findInMarkdown() throws {
        let html = ArticleRenderer.render(
            """
            ![one](b.png) and ![remote](https://e.com/x.png)

            <p><img alt="two" src='./a%20b.jpg'><img src="b.png"></p>

            <img src="c&amp;d.gif" />

            ```
            ![not a picture](code.png) <img src="code.png">
            ```

            Inline `<img src="inline.png">` is code too.

            <!-- <img src="commented.png"> -->
            """, as: .markdown
        ).html
        #expect(try PictureReferences.find(in: html) == ["b.png", "a b.jpg", "c&d.gif"])
    }

    @Test("rewriting swaps each local src for its URL and leaves every other byte")
    func rewrite() throws {
        let html = "<p><img alt=\"x\" src='a%20b.jpg' width=10><img src=\"https://e.com/r.png\"></p><img src=b.png />"
        let urls = ["a b.jpg": "http://mmbiz.qpic.cn/a/0?wx_fmt=jpeg&from=x", "b.png": "http://mmbiz.qpic.cn/b/0"]
        #expect(
            try PictureReferences.rewrite(html, urls: urls)
                == "<p><img alt=\"x\" src=\"http://mmbiz.qpic.cn/a/0?wx_fmt=jpeg&amp;from=x\" width=10>"
                + "<img src=\"https://e.com/r.png\"></p><img src=\"http://mmbiz.qpic.cn/b/0\" />")
    }

    @Test func rewritingFailsForAPictureWithoutURL() {
        #expect(throws: ArticleProblem.pictureNotUploaded(path: "b.png")) {
            try PictureReferences.rewrite("<img src=\"a.png\"><img src=\"b.png\">", urls: ["a.png": "http://x/a"])
        }
    }

    @Test("an article's content is its HTML with the URLs, checked again")
    func articleContent() throws {
        let article = try Article.parse(
            name: "a.md", format: .markdown, bytes: Array("---\ntitle: t\n---\n![](p.png)\n".utf8))
        #expect(try article.content(pictureURLs: ["p.png": "http://m/p"]) == "<img src=\"http://m/p\"/>")
        #expect(throws: ArticleError(file: "a.md", problem: .pictureNotUploaded(path: "p.png"))) {
            try article.content(pictureURLs: [:])
        }
    }

    @Test("an article whose picture leaves the folder is refused, naming it")
    func escapingArticle() {
        #expect {
            try Article.parse(name: "a.md", format: .markdown, bytes: Array("---\ntitle: t\n---\n![](../x.png)\n".utf8))
        } throws: { error in
            "\(error)" == "a.md: picture '../x.png' is outside the folder"
        }
    }
}
