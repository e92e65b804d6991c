import Foundation

/// Where an `<img src>` (or a Markdown image) points: one of the folder's files, or somewhere
/// that is not this folder's business.
public enum PictureSource: Hashable, Sendable {
    /// A file of the folder, by its path relative to the folder (`img/cat.jpg`), unescaped.
    case local(String)
    /// A URL with a scheme (`https:`, `data:`) or protocol-relative (`//host/x`): left alone,
    /// for the platform to keep (its own pictures) or strip (any other host's).
    case remote

    /// Resolves `src` as written (HTML entities already decoded). Nil for an empty `src`, which
    /// points nowhere. Throws when it names a file that cannot be of the folder.
    public static func resolve(_ src: String) throws(ArticleProblem) -> PictureSource? {
        let trimmed = src.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return nil }
        if trimmed.hasPrefix("//") || FolderPath.hasScheme(trimmed) { return .remote }
        // A query or fragment means nothing to a file; `#` and `?` in a name are written %23, %3F.
        let path = trimmed.prefix { $0 != "?" && $0 != "#" }
        // Unescaped before `..` is judged, so that `%2E%2E/` cannot climb out either; a stray
        // `%` that is not an escape is taken as the character it is.
        let unescaped = String(path).removingPercentEncoding ?? String(path)
        guard !unescaped.hasPrefix("/") else { throw .pictureRefused(src: src, why: .absolutePath) }
        guard let segments = FolderPath.resolve(unescaped) else {
            throw .pictureRefused(src: src, why: .outsideFolder)
        }
        guard !segments.isEmpty else { throw .pictureRefused(src: src, why: .notAFile) }
        return .local(segments.joined(separator: "/"))
    }
}
