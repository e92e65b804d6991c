/// What a name in an article folder is: an article, a picture (or other asset) articles may
/// refer to, or a file the folder ignores because tools leave it there for a moment or for
/// themselves, and a draft must not wait for it, use it, or be refused over it.
public enum FolderEntry: Hashable, Sendable {
    case article(ArticleFormat)
    case asset
    case ignored

    /// Judged by the last path component, extensions ignoring case:
    /// - ignored: dot-files (`.DS_Store`, vim's `.foo.swp`, GIO's `.goutputstream-*`, rsync's
    ///   `.foo.XyZ12`), backups ending in `~`, emacs autosaves `#foo#`;
    /// - articles: `*.md`, `*.markdown` (Markdown), `*.html`, `*.htm` (HTML);
    /// - assets: everything else.
    public static func classify(_ name: String) -> FolderEntry {
        let base = name.split(separator: "/").last ?? ""
        if base.isEmpty || base.hasPrefix(".") || base.hasSuffix("~") { return .ignored }
        if base.count >= 2 && base.hasPrefix("#") && base.hasSuffix("#") { return .ignored }
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return .asset }
        switch base[base.index(after: dot)...].lowercased() {
        case "md", "markdown": return .article(.markdown)
        case "html", "htm": return .article(.html)
        default: return .asset
        }
    }
}
