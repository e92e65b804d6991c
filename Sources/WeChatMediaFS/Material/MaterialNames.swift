import WeChatMedia

/// File names for the server's materials, whose `name` is whatever the uploader sent: not
/// unique, any characters. The rule, the same on every host and every listing:
///
/// - `/` and NUL become `_`; an empty name, `.` and `..` become `material`;
/// - a name ending in `.media_id` (the sidecar suffix) gets `_` appended;
/// - a name is cut to 240 bytes at a character boundary, keeping its extension, so that it
///   and its sidecar (`NAME.media_id`) both fit in 255 bytes;
/// - when several materials, or a name this mount holds for another id, share a name, the
///   oldest material (by `update_time`, then id) keeps it and each other one is named
///   `STEM~ID8.EXT`, ID8 being the first 8 characters of its media id: a name changes only
///   when the material that held it first is deleted.
public enum MaterialNames {
    public static let maxBytes = 240
    static let fallback = "material"

    /// A file name for each material of `items`, by media id. `reserved` maps names this mount
    /// already gives (its own uploads) to their media ids.
    public static func names(for items: [MaterialItem], reserved: [String: String] = [:]) -> [String: String] {
        var taken = reserved
        var names: [String: String] = [:]
        let oldestFirst = items.sorted { ($0.updateTime, $0.mediaID) < ($1.updateTime, $1.mediaID) }
        for item in oldestFirst where names[item.mediaID] == nil {
            let plain = cleaned(item.name)
            var name = plain
            if let holder = taken[plain], holder != item.mediaID {
                name = disambiguated(plain, id: item.mediaID)
            }
            // A disambiguated name can only be taken by an identical id prefix and stem: extend it.
            var length = 8
            while let holder = taken[name], holder != item.mediaID, length < item.mediaID.count {
                length += 8
                name = disambiguated(plain, id: item.mediaID, length: length)
            }
            taken[name] = item.mediaID
            names[item.mediaID] = name
        }
        return names
    }

    /// The server's name made a valid file name of at most `maxBytes` bytes.
    public static func cleaned(_ name: String) -> String {
        var text = String(name.map { $0 == "/" || $0 == "\0" ? "_" : $0 })
        if text.isEmpty || text == "." || text == ".." { text = fallback }
        if text.hasSuffix(SidecarName.suffix) { text += "_" }
        return cut(text, to: maxBytes)
    }

    private static func disambiguated(_ name: String, id: String, length: Int = 8) -> String {
        let tag = "~" + id.prefix(length)
        let (stem, ext) = split(name)
        return cut(stem, to: maxBytes - tag.utf8.count - ext.utf8.count) + tag + ext
    }

    /// `stem` and `.ext` (empty when there is none, or the dot starts the name).
    private static func split(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        let ext = String(name[dot...])
        // An "extension" as long as a name is not one.
        guard ext.utf8.count <= 16 else { return (name, "") }
        return (String(name[..<dot]), ext)
    }

    /// `text` cut to at most `limit` bytes at a character boundary, its extension kept.
    private static func cut(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        let (stem, ext) = split(text)
        let room = max(0, limit - ext.utf8.count)
        var kept = ""
        for character in stem {
            guard kept.utf8.count + String(character).utf8.count <= room else { break }
            kept.append(character)
        }
        return kept.isEmpty && ext.isEmpty ? fallback : kept + ext
    }
}
