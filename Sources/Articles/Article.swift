import WeChatMedia

/// One article of a folder, read, checked and rendered: all a draft needs of it but the URLs
/// of its pictures.
public struct Article: Hashable, Sendable {
    /// The file's name in the folder.
    public var name: String
    public var format: ArticleFormat
    public var fields: ArticleFields
    /// The sanitized content; local pictures still have their `src` as written.
    public var html: String
    /// The folder's pictures the content shows, by path relative to the folder, in order of first use.
    public var pictures: [String]
    /// The front matter's cover, else the content's first picture of the folder.
    public var cover: CoverReference
    /// What the sanitizer took out, one line each, for the log.
    public var removed: [String]

    /// Reads the article file `name` (`format` from its name, see `FolderEntry`).
    public static func parse(name: String, format: ArticleFormat, bytes: some Collection<UInt8>) throws(ArticleError)
        -> Article
    {
        do throws(ArticleProblem) {
            let text = try ArticleText.split(bytes)
            let fields = try ArticleFields.parse(frontMatter: text.frontMatter)
            let rendered = ArticleRenderer.render(text.body, as: format)
            guard !rendered.html.isEmpty else { throw ArticleProblem.contentEmpty }
            let pictures = try PictureReferences.find(in: rendered.html)
            let placeholder = String(repeating: "x", count: ArticleLimits.assumedPictureURLLength)
            try checkContent(
                PictureReferences.rewrite(
                    rendered.html, urls: Dictionary(uniqueKeysWithValues: pictures.map { ($0, placeholder) })))
            guard let cover = fields.cover ?? pictures.first.map(CoverReference.folderFile) else {
                throw ArticleProblem.coverMissing
            }
            return Article(
                name: name, format: format, fields: fields, html: rendered.html, pictures: pictures, cover: cover,
                removed: rendered.removed)
        } catch {
            throw ArticleError(file: name, problem: error)
        }
    }

    /// The content with each local picture's `src` replaced by its URL (`urls` keyed by path
    /// relative to the folder), checked again against the limits: what `draft/add` is sent.
    public func content(pictureURLs urls: [String: String]) throws(ArticleError) -> String {
        do throws(ArticleProblem) {
            let content = try PictureReferences.rewrite(html, urls: urls)
            try Self.checkContent(content)
            return content
        } catch {
            throw ArticleError(file: name, problem: error)
        }
    }

    /// Under 20,000 characters and under 1 MB.
    static func checkContent(_ content: String) throws(ArticleProblem) {
        let characters = DraftLimits.characters(in: content)
        if characters >= DraftLimits.contentCharacters {
            throw .contentTooLong(characters: characters, limit: DraftLimits.contentCharacters)
        }
        let bytes = content.utf8.count
        if bytes >= DraftLimits.contentBytes {
            throw .contentTooLarge(bytes: bytes, limit: DraftLimits.contentBytes)
        }
    }
}
