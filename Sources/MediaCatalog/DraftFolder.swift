/// An article folder of `/drafts/` (or, once submitted, of `/published/`): what the mount knows
/// of the draft it becomes. Its files are `DraftFile`s; their bytes live in the cache dir.
public struct DraftFolder: Codable, Sendable, Equatable {
    /// Which top folder lists it.
    public enum Location: String, Codable, Sendable, CaseIterable {
        case drafts, published
    }

    /// Who made it: a folder written through the mount, or a draft the server's listing showed.
    public enum Origin: String, Codable, Sendable {
        case local, server
    }

    /// Its state, as `user.wechat.state` shows it.
    public enum State: String, Codable, Sendable {
        /// Not whole: no article yet, or a picture or cover it names is not there (`waitingFor`).
        case waiting
        /// Whole, and built once the folder has been quiet for the settle time.
        case building
        /// The server's draft holds what the folder holds.
        case built
        /// The folder cannot become a draft until a file changes (`error` says why).
        case failed
        /// Submitted; `freepublish/get` is polled on the day's budget.
        case publishing
        case published
        case publishFailed = "publish-failed"
    }

    public var id: Int64?
    public var location: Location
    public var name: String
    public var origin: Origin
    public var state: State
    /// The draft's media id once `draft/add` answered.
    public var draftID: String?
    /// Why it failed (or why publishing failed), for xattrs, status and the log.
    public var error: String?
    /// The errno its failure maps to.
    public var errorCode: Int32?
    /// The names it waits for, one per line.
    public var waitingFor: String?
    /// The hash of each article the server's draft holds, one per line, in order: an article
    /// whose hash changed is sent again with `draft/update`.
    public var builtArticles: String?
    public var publishID: String?
    /// The last `publish_status` seen.
    public var publishStatus: Int?
    public var articleID: String?
    /// Each published article's URL, one per line, in order.
    public var articleURLs: String?
    /// When (seconds since 1970) `freepublish/get` is due next.
    public var nextPollAt: Int64?
    /// How many times the job was polled.
    public var polls: Int
    /// The server's `update_time` of a listed draft.
    public var updateTime: Int64?
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Nanoseconds since 1970.
    public var modificationTime: Int64
    public var changeTime: Int64

    public init(
        id: Int64? = nil, location: Location = .drafts, name: String, origin: Origin = .local,
        state: State = .waiting, mode: UInt32, uid: UInt32, gid: UInt32, time: Int64
    ) {
        self.id = id
        self.location = location
        self.name = name
        self.origin = origin
        self.state = state
        self.polls = 0
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.modificationTime = time
        self.changeTime = time
    }
}

/// A file of an article folder: an article or a picture. The catalog keeps its name and what
/// it holds; the bytes are a file of the cache dir named by its id.
public struct DraftFile: Codable, Sendable, Equatable {
    public var id: Int64?
    public var folderID: Int64
    public var name: String
    public var size: Int64
    /// SHA-256 of the bytes, hex, once closed.
    public var contentHash: String?
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Nanoseconds since 1970.
    public var accessTime: Int64
    public var modificationTime: Int64
    public var changeTime: Int64

    public init(
        id: Int64? = nil, folderID: Int64, name: String, size: Int64 = 0, contentHash: String? = nil, mode: UInt32,
        uid: UInt32, gid: UInt32, time: Int64
    ) {
        self.id = id
        self.folderID = folderID
        self.name = name
        self.size = size
        self.contentHash = contentHash
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.accessTime = time
        self.modificationTime = time
        self.changeTime = time
    }
}

/// Where the article folders are kept, beside the material library in the same catalog.
public protocol DraftCatalog: Sendable {
    func draftFolder(id: Int64) async throws -> DraftFolder?
    func draftFolder(in location: DraftFolder.Location, named name: String) async throws -> DraftFolder?
    /// Every folder of `location`, in id order.
    func draftFolders(in location: DraftFolder.Location) async throws -> [DraftFolder]
    /// Folders in `state`, wherever they are.
    func draftFolders(in state: DraftFolder.State) async throws -> [DraftFolder]
    /// Inserts `folder` and returns it with its id; `CatalogError.nameTaken` if the name is held.
    func insertDraftFolder(_ folder: DraftFolder) async throws -> DraftFolder
    /// Writes every column but the location and the name.
    func updateDraftFolder(_ folder: DraftFolder) async throws
    /// Moves folder `id` to `name` in `location`.
    func moveDraftFolder(id: Int64, to location: DraftFolder.Location, named name: String) async throws
    /// Deletes the folder and its files, returning the files (their bytes are the caller's to remove).
    func deleteDraftFolder(id: Int64) async throws -> [DraftFile]

    func draftFile(id: Int64) async throws -> DraftFile?
    func draftFile(in folderID: Int64, named name: String) async throws -> DraftFile?
    /// The folder's files, in id order.
    func draftFiles(in folderID: Int64) async throws -> [DraftFile]
    func insertDraftFile(_ file: DraftFile) async throws -> DraftFile
    func updateDraftFile(_ file: DraftFile) async throws
    func deleteDraftFile(id: Int64) async throws
    /// Renames file `id` to `name` in its folder, deleting `replacing` first, together.
    func renameDraftFile(id: Int64, to name: String, replacing: Int64?) async throws

    /// Counts one `freepublish/get` of `day` against `budget`: false, counting nothing, when
    /// the day's polls are spent.
    func spendPublishPoll(day: Int64, budget: Int) async throws -> Bool
    /// How many polls `day` has spent.
    func publishPollsSpent(day: Int64) async throws -> Int
    /// Takes the publishing job of folder `id` for one poll: moves its next poll from `due` (as
    /// read) to `next`, and says whether this call did (another host may have polled it first).
    func claimPublishPoll(id: Int64, due: Int64?, next: Int64) async throws -> Bool

    /// Takes folder `id` for a build: false while another live mount builds it. A mount holds
    /// the claim until `endDraftBuild`, or until its session ends.
    func claimDraftBuild(id: Int64) async throws -> Bool
    func endDraftBuild(id: Int64) async throws
}

/// A catalog that several hosts share keeps the bytes of article folders' files too: a host
/// builds, reads or edits a file another host wrote.
public protocol SharedDraftBytes: Sendable {
    /// Keeps `bytes` as file `fileID`'s content of hash `contentHash` (replacing what it held).
    func storeDraftBytes(fileID: Int64, contentHash: String, bytes: [UInt8]) async throws
    /// File `fileID`'s bytes if they are still those of `contentHash`; nil if it changed or went.
    func draftBytes(fileID: Int64, contentHash: String) async throws -> [UInt8]?
}
