import Articles
import Testing

@Suite("The folder's plan: waiting, invalid or ready, from its listing and its articles")
struct FolderPlanTests {
    /// Plans a folder whose articles' texts are `articles`; `others` are its other names.
    func plan(_ articles: [String: String], others: [String] = []) -> FolderPlan {
        let listing = Array(articles.keys) + others
        return FolderPlan.make(listing: listing) { (name: String) throws(Never) -> [UInt8] in
            Array((articles[name] ?? "").utf8)
        }
    }

    func article(_ title: String, _ body: String = "![](cat.jpg)") -> String {
        "---\ntitle: \(title)\n---\n\(body)\n"
    }

    @Test(
        "names are articles, assets or ignored",
        arguments: [
            ("1-intro.md", FolderEntry.article(.markdown)),
            ("POST.MD", .article(.markdown)),
            ("a.markdown", .article(.markdown)),
            ("b.html", .article(.html)),
            ("c.HTM", .article(.html)),
            ("cat.jpg", .asset),
            ("notes.txt", .asset),
            ("README", .asset),
            ("img/cat.jpg", .asset),
            (".1-intro.md.swp", .ignored),
            (".DS_Store", .ignored),
            (".goutputstream-ABC123", .ignored),
            (".cat.jpg.Xy12Zq", .ignored),
            ("1-intro.md~", .ignored),
            ("#1-intro.md#", .ignored),
            ("img/.hidden.png", .ignored),
        ])
    func classify(name: String, expected: FolderEntry) {
        #expect(FolderEntry.classify(name) == expected)
    }

    @Test func aFolderWithoutArticlesWaits() {
        #expect(plan([:], others: ["cat.jpg", ".x.md.swp"]) == .waiting(for: []))
    }

    @Test("a folder waits for every picture and cover its articles name and it lacks")
    func waitsForMissingPictures() {
        let result = plan(
            [
                "1.md": article("One", "![](cat.jpg) ![](dog.png)"),
                "2.md": "---\ntitle: Two\ncover: cover.jpg\n---\n![](dog.png) ![](https://e.com/x.png)\n",
            ], others: ["cat.jpg"])
        #expect(result == .waiting(for: ["cover.jpg", "dog.png"]))
    }

    @Test func articlesAreReadyInNameOrderWithTheirPictures() throws {
        let result = plan(
            [
                "2-second.md": article("Second", "![](b.png)"),
                "1-first.html": "---\ntitle: First\ncover: /material/image/c.jpg\n---\n<p><img src=\"a.jpg\"></p>",
            ], others: ["a.jpg", "b.png", "notes.txt", ".2-second.md.swp"])
        guard case .ready(let draft) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(draft.articles.map(\.name) == ["1-first.html", "2-second.md"])
        #expect(draft.articles.map(\.fields.title) == ["First", "Second"])
        #expect(draft.articles.map(\.format) == [.html, .markdown])
        #expect(draft.articles.map(\.pictures) == [["a.jpg"], ["b.png"]])
        #expect(draft.articles.map(\.cover) == [.materialImage("c.jpg"), .folderFile("b.png")])
        #expect(draft.articles[0].html == "<p><img src=\"a.jpg\"></p>")
        #expect(draft.unusedAssets == ["notes.txt"])
        #expect(draft.pictures.map(\.path) == ["a.jpg", "b.png"])
        #expect(draft.pictures.map(\.use) == [.body, [.body, .cover]])
    }

    @Test("pictures in subfolders are named by their path, as the listing gives them")
    func subfolders() {
        let result = plan(
            ["1.md": "---\ntitle: t\ncover: img/c.jpg\n---\n![](img/a%20b.png) ![](./img/../img/a%20b.png)\n"],
            others: ["img/a b.png"])
        #expect(result == .waiting(for: ["img/c.jpg"]))
        guard
            case .ready(let draft) = plan(
                ["1.md": "---\ntitle: t\ncover: img/c.jpg\n---\n![](img/a%20b.png)\n"],
                others: ["img/a b.png", "img/c.jpg"])
        else {
            Issue.record("not ready")
            return
        }
        #expect(draft.pictures.map(\.path) == ["img/a b.png", "img/c.jpg"])
    }

    @Test("eight articles make a draft, a ninth is an error naming them")
    func atMostEightArticles() {
        var articles: [String: String] = [:]
        for index in 1...8 { articles["\(index).md"] = article("A\(index)") }
        guard case .ready(let draft) = plan(articles, others: ["cat.jpg"]) else {
            Issue.record("eight articles are not ready")
            return
        }
        #expect(draft.articles.count == 8)
        articles["9.md"] = article("A9")
        let names = (1...9).map { "\($0).md" }
        #expect(
            plan(articles, others: ["cat.jpg"])
                == .invalid(ArticleError(file: nil, problem: .tooManyArticles(names, limit: 8))))
    }

    @Test("an invalid article makes the folder invalid, even while it waits for pictures")
    func invalidBeatsWaiting() {
        let result = plan(["1.md": article("One", "![](missing.png)"), "2.md": "---\ntitel: Two\n---\nx\n"])
        #expect(result == .invalid(ArticleError(file: "2.md", problem: .unknownKeys(["titel"]))))
    }

    @Test("a picture or cover that is an article or an ignored file is refused, not waited for")
    func referencesToNonAssets() {
        #expect(
            plan(["1.md": article("One", "![](2.md)"), "2.md": article("Two")], others: ["cat.jpg"])
                == .invalid(ArticleError(file: "1.md", problem: .pictureRefused(src: "2.md", why: .isArticle))))
        #expect(
            plan(["1.md": article("One", "![](.cat.jpg)")], others: [".cat.jpg"])
                == .invalid(ArticleError(file: "1.md", problem: .pictureRefused(src: ".cat.jpg", why: .isIgnored))))
        #expect(
            plan(
                ["1.md": "---\ntitle: t\ncover: notes.md\n---\ntext\n", "notes.md": article("n")], others: ["cat.jpg"])
                == .invalid(ArticleError(file: "1.md", problem: .coverRefused(value: "notes.md", why: .isArticle))))
    }

    @Test("the reader's own failure is passed on, not taken for the folder's")
    func readFailure() {
        struct DiskGone: Error, Equatable {}
        #expect(throws: DiskGone()) {
            try FolderPlan.make(listing: ["1.md"]) { (_: String) throws(DiskGone) -> [UInt8] in throw DiskGone() }
        }
    }
}
