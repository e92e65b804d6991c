import Foundation
import Ink

/// Link and image titles (`[a](url "Title")`, `![a](p.png 'Title')`), which Ink 0.6 takes as
/// part of the URL, writing `src="p.png "Title""`: a broken attribute, and a picture reference
/// that is not the file's name. These modifiers put the URL and the title where they belong.
enum MarkdownTitles {
    static var modifiers: [Modifier] {
        [
            Modifier(target: .images) { input in fix(input, attribute: "src") },
            Modifier(target: .links) { input in fix(input, attribute: "href") },
        ]
    }

    private static func fix(_ input: Modifier.Input, attribute: String) -> String {
        guard input.markdown.hasSuffix(")"), let open = input.markdown.range(of: "](", options: .backwards),
            let (url, title) = split(
                input.markdown[open.upperBound..<input.markdown.index(before: input.markdown.endIndex)])
        else { return input.html }
        let written = "\(attribute)=\"\(url) \(title.quoted)\""
        guard let range = input.html.range(of: written) else { return input.html }
        return input.html.replacingCharacters(
            in: range, with: "\(attribute)=\"\(url)\" title=\"\(HTMLEntities.escapeAttribute(title.text))\"")
    }

    /// `url "title"` or `url 'title'` into its parts, keeping how the title was quoted.
    private static func split(_ target: Substring) -> (Substring, (text: String, quoted: Substring))? {
        guard let quote = target.last, quote == "\"" || quote == "'",
            let blank = target.firstIndex(where: { $0 == " " || $0 == "\t" })
        else { return nil }
        let url = target[..<blank]
        let quoted = target[blank...].drop { $0 == " " || $0 == "\t" }
        guard quoted.count >= 2, quoted.first == quote, !url.isEmpty else { return nil }
        return (url, (String(quoted.dropFirst().dropLast()), quoted))
    }
}
