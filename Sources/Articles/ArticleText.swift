/// An article file's text split into its front matter and its body, whatever the editor that
/// saved it: a UTF-8 byte order mark is dropped and CRLF line endings become LF, so Windows
/// editors work and the rendered content carries no stray carriage returns.
public struct ArticleText: Hashable, Sendable {
    /// The YAML between the two `---` lines.
    public var frontMatter: String
    /// Everything after the closing `---` line.
    public var body: String
    /// The file's line number of the front matter's first line (after the opening `---`), for YAML errors.
    public static let frontMatterFirstLine = 2

    public static func split(_ bytes: some Collection<UInt8>) throws(ArticleProblem) -> ArticleText {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return try split(text)
    }

    public static func split(_ text: String) throws(ArticleProblem) -> ArticleText {
        var scalars = text.unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        let lines = normalizedLines(scalars)
        guard let first = lines.first, isFence(first) else { throw .frontMatterMissing }
        guard let closing = lines.dropFirst().firstIndex(where: isFence) else { throw .frontMatterUnclosed }
        return ArticleText(
            frontMatter: lines[1..<closing].joined(separator: "\n"),
            body: lines[(closing + 1)...].joined(separator: "\n")
        )
    }

    /// A `---` line; trailing blanks are forgiven since no editor shows them.
    private static func isFence(_ line: String) -> Bool {
        var line = line[...]
        while let last = line.last, last == " " || last == "\t" { line = line.dropLast() }
        return line == "---"
    }

    /// Lines split at LF, a CR before each LF dropped. Scalars, not Characters: "\r\n" is one
    /// Character in Swift and would not match "\n".
    private static func normalizedLines(_ scalars: Substring.UnicodeScalarView) -> [String] {
        var lines: [String] = []
        var line = String.UnicodeScalarView()
        for scalar in scalars {
            if scalar == "\n" {
                if line.last == "\r" { line.removeLast() }
                lines.append(String(line))
                line = String.UnicodeScalarView()
            } else {
                line.append(scalar)
            }
        }
        if line.last == "\r" { line.removeLast() }
        lines.append(String(line))
        return lines
    }
}
