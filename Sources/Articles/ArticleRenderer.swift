import Ink

/// How an article's body is written.
public enum ArticleFormat: String, Hashable, Sendable {
    case markdown
    case html
}

/// An article body made into the content the platform keeps: Markdown rendered with Ink (lists
/// by `MarkdownLists`, titles by `MarkdownTitles`), and
/// both Markdown (whose raw HTML Ink passes through) and HTML run through `HTMLSanitizer`.
public enum ArticleRenderer {
    /// The content, trimmed of blank lines around it, and what the sanitizer took out.
    public static func render(_ body: String, as format: ArticleFormat) -> (html: String, removed: [String]) {
        let html =
            switch format {
            case .markdown:
                MarkdownParser(modifiers: [MarkdownLists.modifier] + MarkdownTitles.modifiers).html(
                    from: inkGuard + body)
            case .html: body
            }
        let sanitized = HTMLSanitizer.sanitize(html)
        return (sanitized.html.trimmingBlankLines(), sanitized.removed)
    }

    /// Ink reads a body that starts with `---` as its own metadata block and drops it; the front
    /// matter is already gone, so such a line is a horizontal rule. An empty comment first keeps
    /// Ink from looking, and the sanitizer removes it with the other comments.
    private static let inkGuard = "<!-- -->\n\n"
}

extension String {
    fileprivate func trimmingBlankLines() -> String {
        var scalars = unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars = scalars.dropFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
