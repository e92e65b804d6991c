import Foundation

/// An article body's `<img>` tags: the platform keeps only images it serves itself (what
/// `media/uploadimg` and image `add_material` answer) and strips the rest when it saves.
enum ArticleBody {
    // swift-format-ignore: NeverUseForceTry
    // Literal patterns: these cannot fail.
    private static let imageTag = try! NSRegularExpression(pattern: "<img\\b[^>]*>", options: [.caseInsensitive])
    // swift-format-ignore: NeverUseForceTry
    private static let source = try! NSRegularExpression(
        pattern: "\\bsrc\\s*=\\s*(?:\"([^\"]*)\"|'([^']*)'|([^\\s>]+))", options: [.caseInsensitive])

    /// Every `src` of every `<img>` in `html`, in order (a tag without one gives "").
    static func imageSources(in html: String) -> [String] {
        tags(in: html).map(\.source)
    }

    /// `html` without the `<img>` tags whose `src` is not in `kept`.
    static func strippingImages(from html: String, keeping kept: Set<String>) -> String {
        var result = html
        // Backwards, so earlier ranges stay valid as later ones are removed.
        for tag in tags(in: html).reversed() where !kept.contains(tag.source) {
            if let range = Range(tag.range, in: result) { result.removeSubrange(range) }
        }
        return result
    }

    private static func tags(in html: String) -> [(range: NSRange, source: String)] {
        let whole = NSRange(html.startIndex..., in: html)
        return imageTag.matches(in: html, range: whole).map { match in
            let tag = (html as NSString).substring(with: match.range)
            let tagRange = NSRange(tag.startIndex..., in: tag)
            guard let found = source.firstMatch(in: tag, range: tagRange) else { return (match.range, "") }
            for group in 1...3 {
                let range = found.range(at: group)
                if range.location != NSNotFound { return (match.range, (tag as NSString).substring(with: range)) }
            }
            return (match.range, "")
        }
    }
}
