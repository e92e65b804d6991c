import WeChatMedia

/// What the filesystem needs to know besides its collaborators.
public struct MountSettings: Sendable {
    /// Media are hidden this long after the server's `created_at` (the platform deletes them at 3 days).
    public var mediaLifetimeSeconds: Int64
    /// How long the kernel may cache attributes, names and "no such name".
    public var cacheTimeout: Double
    /// How long the kernel may cache "no such name" where names appear only through the mount
    /// itself (the root, upload folders) or never (malformed ids): file managers probe each
    /// folder for .hidden, .directory, .Trash and the like.
    public var fixedNegativeTimeout: Double = 3600
    /// Owner of the fixed folders.
    public var uid: UInt32
    public var gid: UInt32
    /// The content cache's cap in bytes.
    public var cacheMaxBytes: Int64
    /// Evict cached media while the disk has less free space than this.
    public var minimumFreeBytes: Int64
    /// Where `wxmediafs status` finds the running mount: the root's `user.wechat.status_socket`.
    public var statusSocketPath: String?
    /// Whether `close()` waits for the upload (`sync`) or for the file to be queued (`background`).
    public var uploadMode: UploadMode = .sync
    /// Uploads the background queue runs at once.
    public var uploadConcurrency: Int = 8
    /// Whether sidecars are shown (`--sidecars`).
    public var sidecars: SidecarMode = .visible
    /// How long a sidecar's lookup waits for its file's queued upload (`--request-timeout`).
    public var queuedUploadWait: Duration = .seconds(30)
    /// How long after a queued upload failed for a reason that may pass (the network, the
    /// server busy, a quota) it is tried again by itself; doubled on each failure in a row, up to
    /// an hour; `sync` tries at once.
    public var queuedUploadRetryDelay: Duration = .seconds(30)
    /// Catalog entries read per `readdir` call (each may add a sidecar to the page); tests set a
    /// small one to list folders over many pages.
    public var listingPageSize: Int = 64
    /// How long the server's listing of a material type is kept (`--material-list-ttl`).
    public var materialListSeconds: Double = 60
    /// Whether `rm` of a permanent material deletes it from the account (`--allow-delete`).
    public var allowDelete = false
    /// Whether `mv` of a draft folder to `/published/` publishes it (`--allow-publish`).
    public var allowPublish = false
    /// How long an article folder must be left alone before it is built (`--draft-settle`):
    /// what makes `cp -r` build once, whatever order it copies in.
    public var draftSettle: Duration = .seconds(2)
    /// How long after a build failed for a reason that may pass (the network, the server busy,
    /// a quota) it is tried again by itself; doubled on each failure, up to an hour.
    public var draftRetryDelay: Duration = .seconds(30)
    /// How many `freepublish/get` polls a day the mount (the fleet, on PostgreSQL) may spend
    /// (`--publish-polls-per-day`); the platform allows 100.
    public var publishPollsPerDay = 90

    public init(
        mediaLifetimeSeconds: Int64 = 3 * 24 * 3600, cacheTimeout: Double = 1, uid: UInt32, gid: UInt32,
        cacheMaxBytes: Int64 = 1 << 30, minimumFreeBytes: Int64 = 256 << 20, statusSocketPath: String? = nil,
        uploadMode: UploadMode = .sync, uploadConcurrency: Int = 8, queuedUploadWait: Duration = .seconds(30),
        sidecars: SidecarMode = .visible
    ) {
        self.sidecars = sidecars
        self.uploadMode = uploadMode
        self.uploadConcurrency = uploadConcurrency
        self.queuedUploadWait = queuedUploadWait
        self.mediaLifetimeSeconds = mediaLifetimeSeconds
        self.cacheTimeout = cacheTimeout
        self.uid = uid
        self.gid = gid
        self.cacheMaxBytes = cacheMaxBytes
        self.minimumFreeBytes = minimumFreeBytes
        self.statusSocketPath = statusSocketPath
    }

    /// How often expired entries are purged: often enough that a short TTL is honoured within a second.
    public var sweepInterval: Duration {
        .seconds(max(1, min(60, mediaLifetimeSeconds / 10)))
    }
}
