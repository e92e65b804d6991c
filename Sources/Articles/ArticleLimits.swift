/// The platform's limits on a draft and its articles (`draft/add`), checked here so that a folder
/// that would be refused is refused before any of its pictures is uploaded.
public enum ArticleLimits {
    /// Articles in one draft.
    public static let articles = 8
    /// Characters (Unicode scalars, see `TextLength`) of a title, inclusive.
    public static let title = 32
    /// Characters of an author, inclusive.
    public static let author = 16
    /// Characters of a digest, inclusive.
    public static let digest = 128
    /// The content must stay *under* this many characters.
    public static let contentCharacters = 20_000
    /// The content must stay *under* this many bytes of UTF-8 (1 MB, counted as the project counts
    /// every other platform megabyte: 1,048,576).
    public static let contentBytes = 1_048_576
    /// What a local picture's `src` is counted as before its URL exists: `media/uploadimg` and
    /// `add_material` URLs are about 120 characters, so the content checked before uploading
    /// cannot grow past a limit once its pictures are swapped for their URLs.
    public static let assumedPictureURLLength = 200
}
