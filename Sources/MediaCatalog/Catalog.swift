import WeChatMedia

/// What the filesystem keeps between calls and across remounts: the entries of the upload
/// folders, the media ids met, and user extended attributes. `SQLiteCatalog` is the embedded
/// implementation for one host, `PostgresCatalog` the one a fleet of hosts shares; every method
/// commits on its own (one transaction each).
public protocol Catalog: Sendable {
    // MARK: Sharing

    /// Whether other hosts change this catalog too (then a name can appear without this mount
    /// creating it, and "no such name" may be cached only briefly).
    var isShared: Bool { get }
    /// What other hosts commit, as they commit it; nil for a catalog of one host.
    func foreignChanges() -> AsyncStream<CatalogChange>?
    /// Where the catalog is and whether it answers, for `wxmediafs status`.
    func health() async -> CatalogHealth
    /// Ends the catalog's connections and background work; nothing is asked of it afterwards.
    func close() async

    // MARK: Entries

    func entry(id: Int64) async throws -> CatalogEntry?
    func entry(in folder: CatalogFolder, named name: String) async throws -> CatalogEntry?
    /// Up to `limit` entries of `folder` with ids above `afterID`, in id order (stable under
    /// inserts and deletes, so directory offsets stay valid).
    func children(of folder: CatalogFolder, afterID: Int64, limit: Int) async throws -> [CatalogEntry]
    /// Whether `folder` holds an entry that is still alive: never uploaded, or its media born
    /// after `cutoff` (at a plausible time). Expired entries wait for the sweep, hidden.
    func hasChildren(_ folder: CatalogFolder, bornAfter cutoff: Int64) async throws -> Bool
    /// Inserts `entry` and returns it with its id, and sets its folder's modification and change
    /// times to its change time; throws `CatalogError.nameTaken` if its folder already holds the
    /// name, `CatalogError.folderGone` if the folder no longer exists.
    func insert(_ entry: CatalogEntry) async throws -> CatalogEntry
    func update(_ entry: CatalogEntry) async throws
    /// Writes only the entry's mode, owner and times (chmod, chown, touch): an upload that
    /// committed since `entry` was read keeps its state, media id and size.
    func updateMetadata(_ entry: CatalogEntry) async throws
    /// Records a finished upload: the entry's new state and the media id it got, together.
    func update(_ entry: CatalogEntry, recording media: KnownMedia) async throws
    /// Deletes entry `id` wherever it is (housekeeping: a failed new file, an expired name taken over).
    func delete(id: Int64) async throws
    /// Removes the file `id` if it is still `location` (else `CatalogError.notThere`: another
    /// host moved or removed it meanwhile), and sets the folder's times to `time`.
    func remove(id: Int64, at location: CatalogChange.Location, time: Int64) async throws
    /// Removes the folder `id` if it is still `location` and holds nothing but entries whose
    /// media were born at or before `cutoff` (they go with it); else `CatalogError.notEmpty`
    /// or `.notThere`. Nothing can be added to it meanwhile, from any host.
    func removeFolder(id: Int64, at location: CatalogChange.Location, expiredAtOrBefore cutoff: Int64, time: Int64)
        async throws
    /// Moves entry `id` from `source` to `folder`/`name`, deleting `replacing` (if still at the
    /// target) first, together; sets both folders' times and the entry's change time to
    /// `changeTime`. Throws `CatalogError.notThere` if the entry is no longer at `source`, and
    /// `.wouldCycle` for a folder moved into itself, judged inside the move.
    func move(
        id: Int64, from source: CatalogChange.Location, to folder: CatalogFolder, name: String, replacing: Int64?,
        changeTime: Int64
    ) async throws
    /// The modification and change times of an upload folder itself (`image/`), once anything
    /// was created, removed or renamed in it; nil before.
    func topFolderTimes(_ type: MediaType) async throws -> FolderTimes?
    /// Removes entries left `writing` by a process that died, returning them.
    func removeUnfinishedWrites() async throws -> [CatalogEntry]
    /// Makes the `queued` entries `ids` (found in this cache dir's upload queue after a restart)
    /// this mount's own again; a catalog of one host has nothing to do.
    func adoptQueuedEntries(_ ids: [Int64]) async throws
    /// For a `queued` entry this mount did not queue: the host whose queue holds it.
    func queueHolder(of entryID: Int64) async throws -> ForeignQueue?
    /// The queues of other hosts whose sessions are gone (`wxmediafs status`).
    func foreignQueues() async throws -> [ForeignQueue]
    /// Gives up the queued files of `host`, whose session is gone: their names are removed for
    /// the fleet (the bytes stay in that host's cache dir). Returns how many; throws
    /// `CatalogError.hostRunning` while the host's session lives, `.noSuchQueue` if it has none.
    func releaseQueue(ofHost host: String) async throws -> Int

    // MARK: Expiry

    /// Deletes the entries whose media were created at or before `cutoff` (or at an implausible
    /// time: outside `plausible`), marks the known ids born then as purged (kept, hidden, until
    /// `forgetBefore`), and returns what went, so cached bytes and kernel names go too.
    func purgeExpired(bornAtOrBefore cutoff: Int64, plausible: ClosedRange<Int64>, forgetBefore: Int64, now: Int64)
        async throws -> (entries: [CatalogEntry], mediaIDs: [String])
    /// Forgets a media id the server says it no longer has: its entries and its known row.
    func forgetMediaEverywhere(_ mediaID: String) async throws -> [CatalogEntry]

    // MARK: Media ids

    func knownMedia(_ mediaID: String) async throws -> KnownMedia?
    func record(_ media: KnownMedia) async throws
    /// The known media ids of one type (the videos whose cached bytes are the only copy).
    func knownMediaIDs(of type: MediaType) async throws -> [String]
    /// Known ids born after `bornAfter`, in the order they were first met, after `afterRowID`.
    func knownMedia(bornAfter: Int64, afterRowID: Int64, limit: Int) async throws -> [(
        rowID: Int64, media: KnownMedia
    )]

    // MARK: Extended attributes

    func xattrs(of entryID: Int64) async throws -> [String: [UInt8]]
    func setXattr(of entryID: Int64, name: String, value: [UInt8]) async throws
    /// Returns whether the attribute existed.
    func removeXattr(of entryID: Int64, name: String) async throws -> Bool
}

extension Catalog {
    public func adoptQueuedEntries(_ ids: [Int64]) async throws {}
    public func queueHolder(of entryID: Int64) async throws -> ForeignQueue? { nil }
    public func foreignQueues() async throws -> [ForeignQueue] { [] }
    public func releaseQueue(ofHost host: String) async throws -> Int { throw CatalogError.noSuchQueue(host) }
}

/// A folder's own times, in nanoseconds since 1970.
public struct FolderTimes: Sendable, Equatable {
    public var modification: Int64
    public var change: Int64

    public init(modification: Int64, change: Int64) {
        self.modification = modification
        self.change = change
    }
}

/// Files another host of the fleet closed and queued for upload, which only that host can
/// upload (their bytes are in its cache dir). While it runs they are invisible here; once its
/// session is gone they are listed, unreadable, until it comes back or an operator releases them.
public struct ForeignQueue: Sendable, Codable, Equatable {
    /// The host's key: its host name and cache dir.
    public var host: String
    /// Whether the host's session is alive (its queue then stays its own, hidden).
    public var running: Bool
    public var files: Int

    public init(host: String, running: Bool, files: Int) {
        self.host = host
        self.running = running
        self.files = files
    }
}

public enum CatalogError: Error, Equatable, CustomStringConvertible {
    public var isSettingConflict: Bool {
        if case .settingConflict = self { true } else { false }
    }

    /// The folder already holds an entry of that name.
    case nameTaken
    /// The disk holding the catalog is full: nothing was written.
    case diskFull
    /// The catalog's server did not answer in time or refused: nothing was written.
    case unavailable(String)
    /// The entry went while this host worked on it (another host removed it, or reaped it).
    case entryGone
    /// A row no version of this program writes.
    case malformedRow(String)
    /// The entry is no longer where the call named it (another host moved or removed it).
    case notThere
    /// The folder to create in no longer exists (another host removed it).
    case folderGone
    /// The folder still holds entries (maybe ones another host is writing).
    case notEmpty
    /// A folder would be moved into itself or one of its subfolders.
    case wouldCycle
    /// The fleet's setting differs from this mount's (what, the fleet's, this mount's).
    case settingConflict(String)
    /// No queue of that host is known.
    case noSuchQueue(String)
    /// That host's session is alive: its queue is its own.
    case hostRunning(String)

    public var description: String {
        switch self {
        case .nameTaken: "the name is taken"
        case .diskFull: "the catalog's disk is full"
        case .unavailable(let reason): "the catalog is unreachable: \(reason)"
        case .entryGone: "the entry was removed meanwhile"
        case .malformedRow(let reason): "a catalog row is malformed: \(reason)"
        case .notThere: "the entry is no longer there"
        case .folderGone: "the folder was removed meanwhile"
        case .notEmpty: "the folder is not empty"
        case .wouldCycle: "a folder cannot move into itself"
        case .settingConflict(let reason): reason
        case .noSuchQueue(let host): "no queued file of a stopped host \(host) is known"
        case .hostRunning(let host): "host \(host) is running: its queue is its own"
        }
    }
}

/// One entry that another host added, changed, moved or removed: where it is now and where it
/// was, so a host drops both names and the inode from its kernel's caches.
public struct CatalogChange: Sendable, Equatable {
    public var entryID: Int64
    public var location: Location?
    public var previousLocation: Location?

    public struct Location: Sendable, Equatable {
        public var folder: CatalogFolder
        public var name: String

        public init(folder: CatalogFolder, name: String) {
            self.folder = folder
            self.name = name
        }
    }

    public init(entryID: Int64, location: Location?, previousLocation: Location?) {
        self.entryID = entryID
        self.location = location
        self.previousLocation = previousLocation
    }
}

/// What `wxmediafs status` says of the catalog.
public struct CatalogHealth: Sendable, Codable, Equatable {
    /// `sqlite PATH` or `postgresql://USER@HOST:PORT/DB` (never a password).
    public var location: String
    public var reachable: Bool
    /// Why the last call failed, while it is unreachable.
    public var problem: String?
    /// Since when it is unreachable (ns since 1970): the view answered meanwhile is from then.
    public var unreachableSince: Int64?

    public init(location: String, reachable: Bool, problem: String? = nil) {
        self.location = location
        self.reachable = reachable
        self.problem = problem
    }
}
