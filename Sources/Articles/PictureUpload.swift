/// A picture format the platform takes for article pictures or image material, by magic bytes.
public enum PictureFormat: String, Hashable, Sendable, CaseIterable {
    case jpeg
    case png
    case gif
    case bmp

    /// How many leading bytes `detect` needs at most.
    public static let prefixLength = 8

    /// The format whose signature `prefix` starts with, or nil: never judged by a name.
    public static func detect(prefix: some Collection<UInt8>) -> PictureFormat? {
        let bytes = Array(prefix.prefix(prefixLength))
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) { return .gif }
        if bytes.starts(with: Array("BM".utf8)) && bytes.count >= 6 { return .bmp }
        return nil
    }
}

/// Where a picture of the folder is uploaded to get its URL (and, for a cover, its media id).
public enum PictureUpload: String, Hashable, Sendable {
    /// `media/uploadimg`: JPEG or PNG up to 1 MB, does not count against the library's cap.
    case articleImage
    /// `add_material?type=image`: everything else, and every cover (a cover must be permanent
    /// material); its answer's `url` serves the content too, so a picture that is both a cover
    /// and in a body is uploaded once.
    case permanentMaterial

    /// The largest `media/uploadimg` picture (inclusive), as the project's client has it.
    public static let articleImageLimit = 1_048_576
    /// The largest image material (inclusive).
    public static let materialImageLimit = 10 * 1_048_576

    /// How the picture `name` (for the error) of `size` bytes, starting with `prefix`, is
    /// uploaded for `use`. Throws for what is no picture the platform takes, or too large.
    public static func choose(
        name: String, prefix: some Collection<UInt8>, size: Int, use: PictureUse
    ) throws(ArticleError) -> PictureUpload {
        guard let format = PictureFormat.detect(prefix: prefix) else {
            throw ArticleError(file: name, problem: .notAPicture)
        }
        guard size <= materialImageLimit else {
            throw ArticleError(file: name, problem: .pictureTooLarge(bytes: size, limit: materialImageLimit))
        }
        if use.contains(.cover) { return .permanentMaterial }
        if format == .jpeg || format == .png, size <= articleImageLimit { return .articleImage }
        return .permanentMaterial
    }
}
