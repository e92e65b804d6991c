/// A key of an article's front matter, spelled as the user writes it.
public enum FrontMatterField: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case title
    case author
    case digest
    case cover
    case sourceURL = "source_url"
    case comments

    public var description: String { rawValue }

    /// Keys with this prefix are the user's own (notes, another tool's settings) and are ignored;
    /// any other unknown key is an error, so that a typo (`titel`, `autor`) cannot vanish silently.
    public static let extensionPrefix = "x-"
}
