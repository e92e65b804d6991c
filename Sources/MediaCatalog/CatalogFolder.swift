import WeChatMedia

/// A folder that holds catalog entries: the top of an upload folder, or a subfolder in one.
/// Named by catalog ids only, so the same folder has the same name on every host and in every
/// version, whatever inode numbers a mount gives it.
public struct CatalogFolder: Hashable, Sendable {
    /// The upload folder it is in (`image/`, `voice/`, ...).
    public var type: MediaType
    /// The catalog id of the subfolder, or `topLevel` for the upload folder itself.
    public var parentID: Int64

    /// The `parentID` of entries directly in an upload folder.
    public static let topLevel: Int64 = 0

    public init(type: MediaType, parentID: Int64) {
        self.type = type
        self.parentID = parentID
    }

    /// The upload folder of `type` itself.
    public static func top(_ type: MediaType) -> CatalogFolder {
        CatalogFolder(type: type, parentID: topLevel)
    }

    public var isTopLevel: Bool { parentID == Self.topLevel }
}
