import Articles
import Foundation
import Testing

@Suite("The example article folder in docs/examples/article-folder plans as documented")
struct ExampleFolderTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples/article-folder")

    func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
    }

    func plan() throws -> DraftPlan? {
        let listing = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path)
        let plan = try FolderPlan.make(listing: listing, read: bytes)
        guard case .ready(let draft) = plan else {
            Issue.record("the example is not ready: \(plan)")
            return nil
        }
        return draft
    }

    @Test func itIsReadyWithTwoArticlesAndTheirPictures() throws {
        guard let draft = try plan() else { return }
        #expect(draft.articles.map(\.name) == ["1-a-day-of-the-cat.md", "2-the-big-picture.md"])
        #expect(
            draft.articles.map(\.fields) == [
                ArticleFields(
                    title: "A day of the cat", author: "wxmediafs",
                    digest: "What the test cat does all day, in four pictures.", cover: .folderFile("cover.jpg"),
                    sourceURL: "https://example.com/blog/cat-day", comments: .open),
                ArticleFields(
                    title: "The big picture", author: "wxmediafs", cover: .folderFile("big-photo.jpg"), comments: .fans),
            ])
        #expect(
            draft.articles.map(\.pictures) == [
                ["cat.jpg", "shared.png", "animation.gif"], ["shared.png", "big-photo.jpg"],
            ])
        #expect(draft.articles.map(\.cover) == [.folderFile("cover.jpg"), .folderFile("big-photo.jpg")])
        #expect(draft.articles.allSatisfy { $0.removed.isEmpty })
        #expect(draft.unusedAssets.isEmpty)
    }

    @Test("each picture is uploaded once, the way its format, size and use decide")
    func pictureUploads() throws {
        guard let draft = try plan() else { return }
        var uploads: [String: PictureUpload] = [:]
        for (path, use) in draft.pictures {
            let content = try bytes(path)
            uploads[path] = try PictureUpload.choose(name: path, prefix: content, size: content.count, use: use)
        }
        #expect(
            uploads == [
                "cat.jpg": .articleImage,
                "shared.png": .articleImage,
                "animation.gif": .permanentMaterial,
                "cover.jpg": .permanentMaterial,
                "big-photo.jpg": .permanentMaterial,
            ])
        #expect(draft.pictures.map(\.path) == ["cat.jpg", "shared.png", "animation.gif", "cover.jpg", "big-photo.jpg"])
        #expect(try bytes("big-photo.jpg").count > 1_048_576)
    }

    @Test("the content sent is the rendered article with the pictures' URLs")
    func content() throws {
        guard let draft = try plan() else { return }
        #expect(
            draft.articles[0].html
                == "<h1>Morning</h1><p>The cat wakes up at six and asks for breakfast.</p>"
                + "<img src=\"cat.jpg\" alt=\"The cat, awake\"/><h2>Noon</h2><p>The cat naps in the test pattern:</p>"
                + "<img src=\"shared.png\" alt=\"Test pattern\"/><h2>Evening</h2>"
                + "<ol><li>Chase the dot</li><li>Chase it again<ul><li>faster</li><li><em>much</em> faster</li></ul></li></ol>"
                + "<img src=\"animation.gif\" alt=\"Chasing the dot\"/><blockquote><p>A cat's day is never done.</p></blockquote>"
                + "<table><thead><tr><th>hour</th><th align=\"center\">activity</th></tr></thead><tbody>"
                + "<tr><td>6</td><td align=\"center\">breakfast</td></tr><tr><td>12</td><td align=\"center\">nap</td></tr>"
                + "</tbody></table><p>Code from the cat's collar: <code>if hungry &lt; 0 { sleep() }</code></p>")
        let urls = Dictionary(uniqueKeysWithValues: draft.pictures.map { ($0.path, "http://mmbiz.qpic.cn/\($0.path)") })
        #expect(
            try draft.articles[1].content(pictureURLs: urls)
                == "<p>The same test pattern as in the first article, uploaded once for both:</p>"
                + "<img src=\"http://mmbiz.qpic.cn/shared.png\" alt=\"Test pattern again\"/>"
                + "<p>And the cat at full size: over 1 MB, so it goes to the material library instead of the"
                + " article-image upload.</p>"
                + "<img src=\"http://mmbiz.qpic.cn/big-photo.jpg\" alt=\"The cat, large\"/>"
                + "<pre><code>$ ls /drafts/article-folder/\n1-a-day-of-the-cat.md  2-the-big-picture.md  animation.gif\n"
                + "big-photo.jpg  cat.jpg  cover.jpg  shared.png\n</code></pre>"
                + "<p>More at <a href=\"https://example.com/wxmediafs\">the project's page</a>.</p>")
    }
}
