import WeChatMedia

/// One name in an upload folder: a file (placeholder, being written, or uploaded) or a subfolder.
public struct CatalogEntry: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Created and open for writing, not yet closed: removed if the process dies.
        case writing
        /// Closed empty: listed, never uploaded.
        case placeholder
        /// Closed with bytes that wait in this host's upload queue (`--uploads background`),
        /// or whose queued upload failed: listed, not on the server yet. Never removed as
        /// unfinished: the next mount on the same cache dir resumes it.
        case queued
        /// On the server under `mediaID`.
        case uploaded
        case directory
    }

    public var id: Int64?
    /// The upload folder it is in: its media type decides the API type of everything inside.
    public var type: MediaType
    /// The catalog id of the subfolder holding it, or `CatalogFolder.topLevel` (0) for the type
    /// folder itself. Catalog ids, never kernel inode numbers: they mean the same on every host.
    public var parentID: Int64
    public var name: String
    public var state: State
    public var mediaID: String?
    public var format: MediaFormat?
    public var size: Int64
    /// The server's `created_at` (seconds); the media expire `TTL` after it.
    public var createdAt: Int64?
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Times in nanoseconds since 1970.
    public var accessTime: Int64
    public var modificationTime: Int64
    public var changeTime: Int64

    public init(
        id: Int64? = nil, folder: CatalogFolder, name: String, state: State, mediaID: String? = nil,
        format: MediaFormat? = nil, size: Int64 = 0, createdAt: Int64? = nil, mode: UInt32, uid: UInt32, gid: UInt32,
        accessTime: Int64, modificationTime: Int64, changeTime: Int64
    ) {
        self.id = id
        self.type = folder.type
        self.parentID = folder.parentID
        self.name = name
        self.state = state
        self.mediaID = mediaID
        self.format = format
        self.size = size
        self.createdAt = createdAt
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
    }

    public var isDirectory: Bool { state == .directory }

    /// The folder holding it.
    public var folder: CatalogFolder {
        get { CatalogFolder(type: type, parentID: parentID) }
        set {
            type = newValue.type
            parentID = newValue.parentID
        }
    }

    /// The folder it is, when it is a subfolder.
    public var asFolder: CatalogFolder? {
        guard isDirectory, let id else { return nil }
        return CatalogFolder(type: type, parentID: id)
    }
}

/// A media id the mount has met (uploaded through it, or looked up under `/by-id/`).
public struct KnownMedia: Codable, Sendable, Equatable {
    public var mediaID: String
    /// Known for uploads; for ids met by lookup, guessed from the Content-Type.
    public var type: MediaType?
    public var size: Int64?
    public var contentType: String?
    /// The server's `created_at` when known (uploads); ids met by lookup count from `firstSeen`.
    public var createdAt: Int64?
    public var firstSeen: Int64

    public init(
        mediaID: String, type: MediaType?, size: Int64?, contentType: String?, createdAt: Int64?, firstSeen: Int64
    ) {
        self.mediaID = mediaID
        self.type = type
        self.size = size
        self.contentType = contentType
        self.createdAt = createdAt
        self.firstSeen = firstSeen
    }

    /// The time its lifetime counts from.
    public var bornAt: Int64 { createdAt ?? firstSeen }
}
