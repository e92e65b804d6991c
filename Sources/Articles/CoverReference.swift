/// An article's cover (`thumb_media_id`), which the platform takes only as permanent material:
/// a picture of the folder (uploaded with `add_material`), a picture already in the mount's
/// `/material/image/`, or a permanent media id.
public enum CoverReference: Hashable, Sendable {
    /// A file of the folder, by its path relative to the folder.
    case folderFile(String)
    /// A file under the mount's `/material/image/`, by its path below that folder.
    case materialImage(String)
    /// A permanent media id, taken as it is.
    case mediaID(String)

    /// The mount folder whose files are permanent image material.
    static let materialImageFolder = ["material", "image"]
    /// Where an article folder sits in the mount (`/drafts/NAME/`), for paths relative to it:
    /// `../../material/image/x.jpg` names the same file as `/material/image/x.jpg`.
    static let draftFolder = ["drafts", "\u{0}folder"]
    /// Media ids are long opaque words; a shorter bare word is taken as a file name.
    static let shortestMediaID = 20

    /// Classifies the front matter's `cover` value:
    /// - a path starting with `/` is a path of the mount, and must be under `/material/image/`;
    /// - a path with `/` or `.` is relative to the folder (`cover.jpg`, `./cover`, `img/c.png`,
    ///   `../../material/image/c.jpg`);
    /// - a bare word of at least 20 of `A-Z a-z 0-9 _ -` is a media id (write `./NAME` for a
    ///   file named like one), and any other bare word a file of the folder;
    /// - a web address is refused: a cover must be permanent material.
    public static func classify(_ value: String) throws(ArticleProblem) -> CoverReference {
        func refuse(_ why: PictureRefusal) -> ArticleProblem { .coverRefused(value: value, why: why) }
        if value.hasPrefix("//") || FolderPath.hasScheme(value) { throw refuse(.webAddress) }
        if !value.contains("/") && !value.contains(".") {
            let isIDCharacter = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") }
            if value.count >= shortestMediaID && value.allSatisfy(isIDCharacter) { return .mediaID(value) }
            return .folderFile(value)
        }
        let absolute = value.hasPrefix("/")
        guard let segments = FolderPath.resolve(value, below: absolute ? [] : draftFolder) else {
            throw refuse(.outsideFolder)
        }
        if segments.starts(with: draftFolder) && !absolute {
            let path = segments.dropFirst(draftFolder.count)
            guard !path.isEmpty else { throw refuse(.notAFile) }
            return .folderFile(path.joined(separator: "/"))
        }
        if segments.starts(with: materialImageFolder) && segments.count > materialImageFolder.count {
            return .materialImage(segments.dropFirst(materialImageFolder.count).joined(separator: "/"))
        }
        throw refuse(absolute ? .absolutePath : .outsideFolder)
    }
}
