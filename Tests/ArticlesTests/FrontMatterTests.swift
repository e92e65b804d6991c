import Articles
import Testing

@Suite("Front matter: fields, limits, and errors that name the file and the field")
struct FrontMatterTests {
    /// Parses a Markdown article whose front matter is `yaml` and whose body shows a picture.
    func parse(_ yaml: String, name: String = "post/1-intro.md") throws(ArticleError) -> Article {
        try Article.parse(name: name, format: .markdown, bytes: Array("---\n\(yaml)\n---\n![a](cat.jpg)\n".utf8))
    }

    func problem(_ yaml: String) -> ArticleProblem? {
        do {
            _ = try parse(yaml)
            return nil
        } catch {
            return error.problem
        }
    }

    @Test func allFieldsAreRead() throws {
        let article = try parse(
            """
            title: 猫的一天
            author: Ann
            digest: "A day, in pictures."
            cover: cover.jpg
            source_url: https://example.com/cat
            comments: fans
            """)
        #expect(
            article.fields
                == ArticleFields(
                    title: "猫的一天", author: "Ann", digest: "A day, in pictures.", cover: .folderFile("cover.jpg"),
                    sourceURL: "https://example.com/cat", comments: .fans))
        #expect(article.cover == .folderFile("cover.jpg"))
    }

    @Test func onlyTheTitleIsRequiredAndCommentsDefaultToClosed() throws {
        let article = try parse("title: Hello")
        #expect(article.fields == ArticleFields(title: "Hello"))
        #expect(article.fields.comments == .closed)
        // Without a cover the article's first picture is its cover.
        #expect(article.cover == .folderFile("cat.jpg"))
    }

    @Test("comments map to need_open_comment and only_fans_can_comment")
    func commentPolicies() throws {
        #expect(CommentPolicy.open.needOpenComment == 1 && CommentPolicy.open.onlyFansCanComment == 0)
        #expect(CommentPolicy.fans.needOpenComment == 1 && CommentPolicy.fans.onlyFansCanComment == 1)
        #expect(CommentPolicy.closed.needOpenComment == 0 && CommentPolicy.closed.onlyFansCanComment == 0)
        #expect(try parse("title: t\ncomments: OPEN").fields.comments == .open)
        #expect(
            problem("title: t\ncomments: yes")
                == .fieldInvalid(.comments, value: "yes", expected: "one of open, fans, closed"))
    }

    @Test func errorsNameTheFileAndTheField() {
        let title = String(repeating: "标", count: 41)
        #expect {
            try parse("title: \(title)")
        } throws: { error in
            "\(error)" == "post/1-intro.md: title is 41 characters, at most 32"
        }
    }

    @Test("the limits are the platform's, counted in characters, inclusive")
    func limits() throws {
        _ = try parse("title: \(String(repeating: "标", count: 32))")
        _ = try parse("title: t\nauthor: \(String(repeating: "a", count: 16))")
        _ = try parse("title: t\ndigest: \(String(repeating: "字", count: 128))")
        #expect(
            problem("title: t\nauthor: \(String(repeating: "a", count: 17))")
                == .fieldTooLong(.author, length: 17, limit: 16))
        #expect(
            problem("title: t\ndigest: \(String(repeating: "字", count: 129))")
                == .fieldTooLong(.digest, length: 129, limit: 128))
        // The source URL's limit is the project's (the docs give none), the emulator's too.
        let path = String(repeating: "p", count: 1024 - "https://e.x/".count)
        _ = try parse("title: t\nsource_url: https://e.x/\(path)")
        #expect(
            problem("title: t\nsource_url: https://e.x/\(path)q")
                == .fieldTooLong(.sourceURL, length: 1025, limit: 1024))
    }

    @Test func missingAndBrokenFrontMatter() {
        #expect(problem("author: Ann") == .fieldMissing(.title))
        #expect(problem("title:") == .fieldEmpty(.title))
        #expect(problem("title: '  '") == .fieldEmpty(.title))
        #expect(problem("") == .fieldMissing(.title))
        #expect(problem("- a\n- b") == .frontMatterNotMapping)
        #expect(throws: ArticleError(file: "a.md", problem: .frontMatterMissing)) {
            try Article.parse(name: "a.md", format: .markdown, bytes: Array("# No front matter\n".utf8))
        }
        #expect(throws: ArticleError(file: "a.md", problem: .frontMatterUnclosed)) {
            try Article.parse(name: "a.md", format: .markdown, bytes: Array("---\ntitle: t\n# Body\n".utf8))
        }
        #expect(throws: ArticleError(file: "a.md", problem: .notUTF8)) {
            try Article.parse(name: "a.md", format: .markdown, bytes: [0x2D, 0x2D, 0x2D, 0x0A, 0xFF, 0xFE])
        }
    }

    @Test("YAML that does not parse says where, counting lines in the whole file")
    func invalidYAML() {
        guard case .yamlInvalid(let line, let detail) = problem("title: t\nauthor: [unclosed") else {
            Issue.record("not a YAML error")
            return
        }
        // libyaml notices at the end of the front matter, the closing `---` line.
        #expect(line == 4, "line \(String(describing: line)): \(detail)")
        guard case .yamlInvalid(let line, let detail) = problem("title: a\ntitle: b") else {
            Issue.record("a duplicate key is not a YAML error")
            return
        }
        #expect(line == 2)
        #expect(detail.contains("'title'"))
    }

    @Test func yamlErrorsReadWell() {
        #expect(
            "\(ArticleError(file: "2-more.md", problem: problem("title: a: b") ?? .contentEmpty))"
                == "2-more.md: front matter is not valid YAML (line 2): mapping values are not allowed in this context")
    }

    @Test("a title YAML reads as anything but text is refused, with the fix")
    func nonTextTitle() {
        #expect(problem("title: 2024") == .fieldNotText(.title, found: "a number"))
        #expect(problem("title: 1.10") == .fieldNotText(.title, found: "a number"))
        #expect(problem("title: true") == .fieldNotText(.title, found: "true or false"))
        #expect(problem("title: [a, b]") == .fieldNotText(.title, found: "a list"))
        #expect(problem("title: {a: b}") == .fieldNotText(.title, found: "a mapping"))
        // An alias reads as what it points to.
        #expect(problem("x-base: &t [a]\ntitle: *t") == .fieldNotText(.title, found: "a list"))
        #expect((try? parse("x-base: &t Hello\ntitle: *t"))?.fields.title == "Hello")
        #expect(problem("title: t\nauthor: 42") == .fieldNotText(.author, found: "a number"))
        #expect(
            "\(ArticleProblem.fieldNotText(.title, found: "a number"))"
                == "title is a number, not text: put it in quotes")
        #expect((try? parse("title: '2024'"))?.fields.title == "2024")
    }

    @Test("unknown keys are an error naming them; x- keys are the user's and ignored")
    func unknownKeys() throws {
        #expect(problem("titel: Hello\nautor: Ann") == .unknownKeys(["titel", "autor"]))
        #expect(
            "\(ArticleProblem.unknownKeys(["titel"]))"
                == "unknown front matter key 'titel' (known: title, author, digest, cover, source_url, comments;"
                + " prefix your own with 'x-')")
        #expect(try parse("title: t\nx-date: 2024-01-01\nx-tags: [a, b]").fields == ArticleFields(title: "t"))
    }

    @Test func sourceURLMustBeAWebAddress() throws {
        #expect(
            try parse("title: t\nsource_url: http://example.com/a?b=1").fields.sourceURL == "http://example.com/a?b=1")
        #expect(
            problem("title: t\nsource_url: example.com")
                == .fieldInvalid(.sourceURL, value: "example.com", expected: "an http:// or https:// address"))
        #expect(
            problem("title: t\nsource_url: ftp://example.com/")
                == .fieldInvalid(.sourceURL, value: "ftp://example.com/", expected: "an http:// or https:// address"))
    }

    @Test("CRLF line endings and a UTF-8 byte order mark are accepted and leave no trace")
    func crlfAndBOM() throws {
        let text = "\u{FEFF}---\r\ntitle: Hello\r\nauthor: Ann\r\ncover: c.jpg\r\n---\r\n# Head\r\n\r\nLine one\r\n"
        let article = try Article.parse(name: "w.md", format: .markdown, bytes: Array(text.utf8))
        #expect(article.fields == ArticleFields(title: "Hello", author: "Ann", cover: .folderFile("c.jpg")))
        #expect(!article.html.contains("\r"))
        #expect(article.html == "<h1>Head</h1><p>Line one</p>")
    }

    @Test("a cover is a folder file, a file under /material/image/, or a media id")
    func coverClassification() throws {
        let id = "ZQtRh2u7wKUoUN-p8yLsK5J9C2uTqSI-wTQMQXrCn9I"
        let cases: [(String, CoverReference)] = [
            ("cover.jpg", .folderFile("cover.jpg")),
            ("./img/../cover.png", .folderFile("cover.png")),
            ("img/cover.png", .folderFile("img/cover.png")),
            ("cover", .folderFile("cover")),
            ("/material/image/cat.jpg", .materialImage("cat.jpg")),
            ("/material/image/2024/cat.jpg", .materialImage("2024/cat.jpg")),
            ("../../material/image/cat.jpg", .materialImage("cat.jpg")),
            (id, .mediaID(id)),
            ("./\(id)", .folderFile(id)),
        ]
        for (value, expected) in cases {
            #expect(try CoverReference.classify(value) == expected, "\(value)")
        }
        let refused: [(String, PictureRefusal)] = [
            ("https://example.com/c.jpg", .webAddress),
            ("../other/c.jpg", .outsideFolder),
            ("../../../c.jpg", .outsideFolder),
            ("/image/cat.jpg", .absolutePath),
            ("/material/image/", .absolutePath),
        ]
        for (value, why) in refused {
            #expect(throws: ArticleProblem.coverRefused(value: value, why: why)) { try CoverReference.classify(value) }
        }
        #expect(problem("title: t\ncover: ../x.jpg") == .coverRefused(value: "../x.jpg", why: .outsideFolder))
    }

    @Test func anArticleWithoutACoverOrPicturesIsRefused() {
        #expect(throws: ArticleError(file: "a.md", problem: .coverMissing)) {
            try Article.parse(name: "a.md", format: .markdown, bytes: Array("---\ntitle: t\n---\nText only.\n".utf8))
        }
        #expect(throws: ArticleError(file: "a.md", problem: .contentEmpty)) {
            try Article.parse(
                name: "a.md", format: .markdown, bytes: Array("---\ntitle: t\ncover: c.jpg\n---\n\n".utf8))
        }
    }
}
