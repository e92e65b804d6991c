/// Takes out of an article's HTML what the platform refuses or what would run or restyle the
/// page, and nothing else; the rest is given back as written, for the platform's own filter:
/// - `<script>` and `<style>` elements, with their content;
/// - `<link>` tags (external stylesheets and the like);
/// - event-handler attributes (`onclick`, `onerror`, any `on...`);
/// - `javascript:` and `vbscript:` URLs in URL attributes (`href`, `src`, ...);
/// - comments: invisible, yet they would count against the content limit and be published in
///   the page's source.
/// Inline `style` attributes stay: they are how articles on the platform are styled.
public enum HTMLSanitizer {
    /// Elements removed with everything in them: exactly those whose content is raw text.
    static let removedElements = HTMLLexer.rawTextElements
    /// Tags removed on their own (they have no content).
    static let removedTags: Set<String> = ["link"]
    /// Attributes whose value is a URL the browser may follow or load.
    static let urlAttributes: Set<String> = [
        "href", "src", "action", "formaction", "xlink:href", "background", "poster", "data", "cite", "srcset",
    ]
    static let scriptSchemes = ["javascript:", "vbscript:"]

    /// `html` without what is listed above, and a line for each thing taken out (for the log).
    public static func sanitize(_ html: String) -> (html: String, removed: [String]) {
        var output = ""
        var removed: [String] = []
        for token in HTMLLexer.tokens(html) {
            switch token {
            case .startTag(let tag) where removedElements.contains(tag.name):
                removed.append("<\(tag.name)> element")
            case .rawText:
                // Only ever the content of a removed element.
                continue
            case .endTag(let name, _) where removedElements.contains(name):
                continue
            case .startTag(let tag) where removedTags.contains(tag.name):
                removed.append("<\(tag.name)> tag")
            case .endTag(let name, _) where removedTags.contains(name):
                continue
            case .comment:
                continue
            case .startTag(var tag):
                tag.attributes.removeAll { attribute in
                    guard let reason = whyRemoved(attribute) else { return false }
                    removed.append("\(reason) of <\(tag.name)>")
                    return true
                }
                output += tag.html
            default:
                output += token.html
            }
        }
        return (output, removed)
    }

    private static func whyRemoved(_ attribute: HTMLAttribute) -> String? {
        if attribute.name.hasPrefix("on") { return "\(attribute.name) attribute" }
        guard urlAttributes.contains(attribute.name), let value = attribute.decodedValue else { return nil }
        // Browsers ignore blanks and control characters inside a scheme: `java\tscript:` runs.
        let squeezed = String(value.unicodeScalars.filter { $0.value > 0x20 }).lowercased()
        guard let scheme = scriptSchemes.first(where: squeezed.hasPrefix) else { return nil }
        return "\(scheme) URL in \(attribute.name)"
    }
}
