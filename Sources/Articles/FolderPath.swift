/// Relative paths resolved the way a browser would against the article's folder, without a
/// filesystem: `./` and empty segments dropped, `..` taking one back, and nothing allowed to
/// climb out of where it started.
enum FolderPath {
    /// `path`'s segments resolved below `base`; nil when `..` climbs above the root of `base`.
    static func resolve(_ path: some StringProtocol, below base: [String] = []) -> [String]? {
        var segments = base
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..":
                guard !segments.isEmpty else { return nil }
                segments.removeLast()
            default: segments.append(String(segment))
            }
        }
        return segments
    }

    /// Whether `text` starts with a URL scheme (`https:`, `data:`, `mailto:`): letters, then
    /// letters, digits, `+`, `-` or `.`, then `:`.
    static func hasScheme(_ text: some StringProtocol) -> Bool {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return false }
        let scheme = text[..<colon]
        guard let first = scheme.first, first.isASCII, first.isLetter else { return false }
        return scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }
}
