import WeChatMedia

/// The folders of `/material/`: one per type of permanent material, and the article images
/// (`media/uploadimg`), which have a URL and no media id.
public enum MaterialFolder: String, CaseIterable, Codable, Sendable {
    case image, voice, video, thumb
    case articleImages = "article-images"

    /// The type its files are checked and added as.
    public var mediaType: MediaType {
        switch self {
        case .image, .articleImages: .image
        case .voice: .voice
        case .video: .video
        case .thumb: .thumb
        }
    }

    /// The type `batchget_material` lists it by; nil for thumbs and article images, which no
    /// API lists (the catalog's names are all there is).
    public var listedType: MediaType? {
        switch self {
        case .image: .image
        case .voice: .voice
        case .video: .video
        case .thumb, .articleImages: nil
        }
    }
}

/// One name in a `/material/` folder: a file this mount uploaded, or a material the server's
/// listing showed (uploaded elsewhere), named by `MaterialNames`.
public struct MaterialEntry: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        /// Created and open for writing: removed if the process dies.
        case writing
        /// Closed empty: listed, never uploaded.
        case placeholder
        /// Closed in background mode, its bytes in this host's upload queue, never yet in the
        /// library: hidden from other hosts until uploaded. (An uploaded file written again stays
        /// `uploaded` while its new bytes wait: the queue tells that.)
        case queued
        /// In the library (or, for an article image, at `url`).
        case uploaded
    }

    public var id: Int64?
    public var folder: MaterialFolder
    public var name: String
    public var state: State
    /// The permanent media id; nil for article images.
    public var mediaID: String?
    /// The image's URL (images and article images).
    public var url: String?
    /// SHA-256 of the bytes, hex, for files uploaded here: the same bytes are added once.
    public var contentHash: String?
    public var size: Int64
    /// The server's `update_time` (seconds), when known.
    public var updateTime: Int64?
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Times in nanoseconds since 1970.
    public var accessTime: Int64
    public var modificationTime: Int64
    public var changeTime: Int64

    public init(
        id: Int64? = nil, folder: MaterialFolder, name: String, state: State, mediaID: String? = nil,
        url: String? = nil, contentHash: String? = nil, size: Int64 = 0, updateTime: Int64? = nil, mode: UInt32,
        uid: UInt32, gid: UInt32, accessTime: Int64, modificationTime: Int64, changeTime: Int64
    ) {
        self.id = id
        self.folder = folder
        self.name = name
        self.state = state
        self.mediaID = mediaID
        self.url = url
        self.contentHash = contentHash
        self.size = size
        self.updateTime = updateTime
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
    }
}

/// Where the names of `/material/` are kept: beside the upload folders' entries, in the same
/// catalog (so a fleet on PostgreSQL shares them), in a table of their own (nothing here expires).
public protocol MaterialCatalog: Sendable {
    func materialEntry(id: Int64) async throws -> MaterialEntry?
    func materialEntry(in folder: MaterialFolder, named name: String) async throws -> MaterialEntry?
    /// Up to `limit` entries of `folder` with ids above `afterID`, in id order.
    func materialEntries(in folder: MaterialFolder, afterID: Int64, limit: Int) async throws -> [MaterialEntry]
    /// The names of `folder` that hold `mediaID` (several, when the same bytes were copied twice).
    func materialEntries(in folder: MaterialFolder, mediaID: String) async throws -> [MaterialEntry]
    /// An uploaded entry of `folder` whose bytes hash to `contentHash`: their media id is reused.
    func materialEntry(in folder: MaterialFolder, contentHash: String) async throws -> MaterialEntry?
    /// Inserts `entry` and returns it with its id; `CatalogError.nameTaken` if the name is held.
    func insertMaterial(_ entry: MaterialEntry) async throws -> MaterialEntry
    /// Writes every column but the folder and the name (only `renameMaterial` renames).
    func updateMaterial(_ entry: MaterialEntry) async throws
    /// Writes only the entry's mode, owner and times (chmod, chown, touch): an upload that
    /// committed since `entry` was read keeps its state, id and size.
    func updateMaterialMetadata(_ entry: MaterialEntry) async throws
    /// Sets the size of entry `id` if it has none yet (a listed material, read whole).
    func recordMaterialSize(id: Int64, size: Int64) async throws
    func deleteMaterial(id: Int64) async throws
    /// Renames entry `id` to `name` in its folder, deleting `replacing` first, together.
    func renameMaterial(id: Int64, to name: String, replacing: Int64?) async throws
    /// Removes entries left `writing` by a process that died, returning them.
    func removeUnfinishedMaterial() async throws -> [MaterialEntry]
    /// Queued entries of this cache dir's earlier runs (found in its upload queue) become this
    /// run's again: on a fleet, visible to it and still hidden from the other hosts.
    func adoptQueuedMaterial(_ ids: [Int64]) async throws
}
