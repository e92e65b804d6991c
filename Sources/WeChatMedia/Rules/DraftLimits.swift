/// The platform's limits on a draft and its articles (`draft/add`, `draft/update`;
/// `wechat-api-notes.md`, "Drafts"): what the emulator enforces and what the mount checks before
/// it uploads a picture of an article folder, from one place.
public enum DraftLimits {
    /// Articles in one draft.
    public static let articles = 8
    /// Characters (see `characters(in:)`) of a title, inclusive.
    public static let title = 32
    /// Characters of an author, inclusive.
    public static let author = 16
    /// Characters of a digest, inclusive.
    public static let digest = 128
    /// The content must stay *under* this many characters.
    public static let contentCharacters = 20_000
    /// The content must stay *under* this many bytes of UTF-8 (1 MB, counted as every other
    /// platform megabyte here: 1,048,576).
    public static let contentBytes = 1_048_576
    /// Characters of `content_source_url`, inclusive: the docs give no figure, so this is the
    /// project's (the emulator refuses past it with 45005).
    public static let sourceURL = 1_024

    /// How the platform's "characters" are counted: Unicode scalars. A CJK character or a letter
    /// counts one either way; scalars keep an emoji from counting as one character here and two
    /// on a server that counts code points, while grapheme clusters could undercount a combined
    /// emoji. One place, so the rule changes in one place if the platform proves otherwise.
    public static func characters(in text: some StringProtocol) -> Int {
        text.unicodeScalars.count
    }
}
