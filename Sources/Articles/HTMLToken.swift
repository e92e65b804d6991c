/// One piece of HTML as it was written, so that whatever is not changed is given back byte for
/// byte: the platform sees the author's HTML, not a re-serialisation of it.
enum HTMLToken: Hashable, Sendable {
    case text(String)
    case startTag(HTMLTag)
    case endTag(name: String, html: String)
    case comment(String)
    /// `<!DOCTYPE ...>`, `<?...?>`, `<![CDATA[...]]>`.
    case markup(String)
    /// What a `<script>` or `<style>` holds: not HTML, so never searched for tags.
    case rawText(String)

    var html: String {
        switch self {
        case .text(let html), .endTag(_, let html), .comment(let html), .markup(let html), .rawText(let html): html
        case .startTag(let tag): tag.html
        }
    }
}

/// A start tag: its name, its attributes in order, and the blanks and `/` before its `>`.
struct HTMLTag: Hashable, Sendable {
    /// Lowercased, for matching.
    var name: String
    var writtenName: String
    var attributes: [HTMLAttribute]
    var tail: String

    var html: String { "<" + writtenName + attributes.map(\.html).joined() + tail + ">" }
}

/// An attribute as written, with the blanks before it.
struct HTMLAttribute: Hashable, Sendable {
    /// Lowercased, for matching.
    var name: String
    /// The value as written (entities not decoded, quotes removed); nil for a bare attribute.
    var value: String?
    var html: String

    /// The value the browser sees.
    var decodedValue: String? { value.map(HTMLEntities.decode) }

    /// The same attribute with another value, double-quoted, keeping the blanks before it.
    func replacingValue(with newValue: String) -> HTMLAttribute {
        let blanks = html.prefix { $0.isWhitespace }
        let name = html.dropFirst(blanks.count).prefix { !$0.isWhitespace && $0 != "=" }
        let escaped = HTMLEntities.escapeAttribute(newValue)
        return HTMLAttribute(name: self.name, value: escaped, html: "\(blanks)\(name)=\"\(escaped)\"")
    }
}
