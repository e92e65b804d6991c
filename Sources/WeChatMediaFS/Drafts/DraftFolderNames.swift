import WeChatMedia

/// Names of the folders and files the server's drafts and published messages are shown as.
/// The rule, the same on every listing:
/// - a folder is named by its first article's title: `/` and NUL become `_`, an empty title (or
///   `.`, `..`) is `draft`, a leading `.` becomes `_.` (no hidden folders), cut to 200 bytes at
///   a character boundary; a name already in the folder gets `~ID8`, the first 8 characters of
///   the draft's media id (or the message's article id; more while still taken), the oldest
///   (by `update_time`, then id) naming first;
/// - each article is `N-TITLE.html`, N its place from 1, TITLE cleaned the same way and cut to
///   100 bytes (an article file, in the order of the draft).
enum DraftFolderNames {
    static func name(firstTitle: String, id: String, taken: Set<String>) -> String {
        let plain = cleaned(firstTitle, limit: 200, fallback: "draft")
        var name = plain
        var length = 8
        while taken.contains(name) {
            name = plain + "~" + id.prefix(length)
            guard length < id.count else {
                name = plain + "~" + id
                break
            }
            length += 8
        }
        return name
    }

    static func articleFileName(index: Int, title: String) -> String {
        "\(index + 1)-" + cleaned(title, limit: 100, fallback: "article") + ".html"
    }

    static func cleaned(_ text: String, limit: Int, fallback: String) -> String {
        var name = String(text.map { $0 == "/" || $0 == "\0" || $0.isNewline ? "_" : $0 })
        if name.hasPrefix(".") { name = "_" + name }
        var kept = ""
        for character in name {
            guard kept.utf8.count + String(character).utf8.count <= limit else { break }
            kept.append(character)
        }
        return kept.isEmpty ? fallback : kept
    }
}
