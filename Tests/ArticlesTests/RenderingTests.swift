import Articles
import Testing

@Suite("Rendering: Markdown through Ink, and HTML the platform keeps")
struct RenderingTests {
    func markdown(_ body: String) -> String { ArticleRenderer.render(body, as: .markdown).html }

    @Test(
        "Markdown renders to the expected HTML",
        arguments: [
            ("# One\n\n## Two\n\n###### Six", "<h1>One</h1><h2>Two</h2><h6>Six</h6>"),
            ("- a\n- b", "<ul><li>a</li><li>b</li></ul>"),
            ("1. a\n2. b", "<ol><li>a</li><li>b</li></ol>"),
            ("- a\n  - a1\n  - a2\n- b", "<ul><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b</li></ul>"),
            ("1. a\n   1. a1\n2. b", "<ol><li>a<ol><li>a1</li></ol></li><li>b</li></ol>"),
            ("1. a\n   - a1\n   - a2\n2. b", "<ol><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b</li></ol>"),
            (
                "- a\n  - a1\n    - a11\n  - a2\n- b\n  continued *here*",
                "<ul><li>a<ul><li>a1<ul><li>a11</li></ul></li><li>a2</li></ul></li><li>b continued <em>here</em></li></ul>"
            ),
            ("3. c\n4. d", "<ol start=\"3\"><li>c</li><li>d</li></ol>"),
            (
                "```swift\nif a < b && c > d {}\n```",
                "<pre><code class=\"language-swift\">if a &lt; b &amp;&amp; c &gt; d {}\n</code></pre>"
            ),
            ("Use `a<b` here", "<p>Use <code>a&lt;b</code> here</p>"),
            ("> quoted\n> text", "<blockquote><p>quoted text</p></blockquote>"),
            (
                "| a | b |\n|---|:-:|\n| 1 | 2 |",
                "<table><thead><tr><th>a</th><th align=\"center\">b</th></tr></thead>"
                    + "<tbody><tr><td>1</td><td align=\"center\">2</td></tr></tbody></table>"
            ),
            ("[home](https://example.com/a?b=1)", "<p><a href=\"https://example.com/a?b=1\">home</a></p>"),
            // Ink gives an image that starts a paragraph no <p>.
            ("![a cat](cat.jpg)", "<img src=\"cat.jpg\" alt=\"a cat\"/>"),
            ("See ![a cat](cat.jpg)", "<p>See <img src=\"cat.jpg\" alt=\"a cat\"/></p>"),
            ("![a](p.png \"A <title>\")", "<img src=\"p.png\" title=\"A &lt;title&gt;\" alt=\"a\"/>"),
            ("See ![a](p.png 'T')", "<p>See <img src=\"p.png\" title=\"T\" alt=\"a\"/></p>"),
            ("[a](https://e.com/x \"T\")", "<p><a href=\"https://e.com/x\" title=\"T\">a</a></p>"),
            ("line  \nbreak", "<p>line<br>break</p>"),
            ("*em* **strong** ~~gone~~", "<p><em>em</em> <strong>strong</strong> <s>gone</s></p>"),
            ("---\n\ntext", "<hr><p>text</p>"),
        ])
    func markdownRenders(body: String, expected: String) {
        #expect(markdown(body) == expected)
    }

    @Test("raw HTML in Markdown is kept, less what is stripped")
    func rawHTMLInMarkdown() {
        let rendered = ArticleRenderer.render(
            "<section style=\"color:red\" onclick=\"x()\"><p>Hi</p></section>\n\nText <b onmouseover='y()'>bold</b>\n\n"
                + "<script>alert('<p>')</script>\n\n<style>p{color:red}</style>\n\n"
                + "<link rel=\"stylesheet\" href=\"https://e.com/s.css\">\n\n<!-- note -->",
            as: .markdown)
        #expect(
            rendered.html == "<section style=\"color:red\"><p>Hi</p></section><p>Text <b>bold</b></p>")
        #expect(
            rendered.removed == [
                "onclick attribute of <section>", "onmouseover attribute of <b>", "<script> element",
                "<style> element", "<link> tag",
            ])
    }

    @Test("HTML articles are taken as written, less what is stripped")
    func htmlArticle() {
        let body = """

            <h1 class="t">Title</h1>
            <p>Plain &amp; <em>simple</em> &lt;text&gt;</p>
            <img src="cat.jpg" onerror="steal()" alt="cat" />
            <SCRIPT type="text/javascript">if (a</b) { document.write("</p>") }</SCRIPT >
            <a href=" JaVa&#x09;script:alert(1)" title="x">link</a>
            <a href="https://example.com" ONCLICK=go()>ok</a>
            <Style media="all">a { color: red }</Style><p>after</p>

            """
        let rendered = ArticleRenderer.render(body, as: .html)
        #expect(
            rendered.html == """
                <h1 class="t">Title</h1>
                <p>Plain &amp; <em>simple</em> &lt;text&gt;</p>
                <img src="cat.jpg" alt="cat" />

                <a title="x">link</a>
                <a href="https://example.com">ok</a>
                <p>after</p>
                """)
        #expect(
            rendered.removed == [
                "onerror attribute of <img>", "<script> element", "javascript: URL in href of <a>",
                "onclick attribute of <a>", "<style> element",
            ])
    }

    @Test("code that shows HTML is escaped by Ink, so it is shown, never stripped or taken for a picture")
    func codeShowingHTML() throws {
        let rendered = ArticleRenderer.render(
            "```html\n<script src=\"a.js\"></script>\n<img src=\"x.png\" onerror=\"y()\">\n```\n\n`<style>`",
            as: .markdown)
        #expect(
            rendered.html
                == "<pre><code class=\"language-html\">&lt;script src=\"a.js\"&gt;&lt;/script&gt;\n"
                + "&lt;img src=\"x.png\" onerror=\"y()\"&gt;\n</code></pre><p><code>&lt;style&gt;</code></p>")
        #expect(rendered.removed.isEmpty)
        #expect(try PictureReferences.find(in: rendered.html).isEmpty)
    }

    @Test("the sanitizer gives back untouched HTML byte for byte")
    func untouched() {
        let html = "<p class='a'  data-x=1>a < b, c > d, <br/> é 汉字 <img src=x.png alt=\"a>b\"></p>"
        #expect(HTMLSanitizer.sanitize(html).html == html)
        #expect(HTMLSanitizer.sanitize(html).removed.isEmpty)
    }

    @Test("a tag cut off by the end of the file becomes text, never a half tag")
    func unterminatedTag() {
        #expect(
            HTMLSanitizer.sanitize("<p>a</p><img src=\"x.png\" onerror=\"y").html
                == "<p>a</p>&lt;img src=\"x.png\" onerror=\"y")
        #expect(HTMLSanitizer.sanitize("a<script>never closed <p>").html == "a")
    }

    @Test("content limits are checked after rendering, pictures counted at their URL's length")
    func contentLimits() throws {
        func article(_ body: String) throws(ArticleError) -> Article {
            try Article.parse(
                name: "long.md", format: .markdown, bytes: Array("---\ntitle: t\ncover: c.jpg\n---\n\(body)".utf8))
        }
        // <p></p> is 7 characters: 19,992 + 7 = 19,999 is under 20,000.
        _ = try article(String(repeating: "字", count: 19_992))
        #expect(throws: ArticleError(file: "long.md", problem: .contentTooLong(characters: 20_000, limit: 20_000))) {
            try article(String(repeating: "字", count: 19_993))
        }
        // The picture's src `p.png` counts as 200 characters, `<img src=""/>` 13 more, and the
        // text's `<p></p>` 7: 19,780 + 220 = 20,000, which is not under 20,000.
        let withPicture = String(repeating: "a", count: 19_780) + "\n\n![](p.png)"
        #expect(throws: ArticleError(file: "long.md", problem: .contentTooLong(characters: 20_000, limit: 20_000))) {
            try article(withPicture)
        }
    }
}
