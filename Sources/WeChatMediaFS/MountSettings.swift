import WeChatMedia

/// What the filesystem needs to know besides its collaborators.
public struct MountSettings: Sendable {
    /// Media are hidden this long after the server's `created_at` (the platform deletes them at 3 days).
    public var mediaLifetimeSeconds: Int64
    /// How long the kernel may cache attributes, names and "no such name".
    public var cacheTimeout: Double
    /// Owner of the fixed folders.
    public var uid: UInt32
    public var gid: UInt32

    public init(mediaLifetimeSeconds: Int64 = 3 * 24 * 3600, cacheTimeout: Double = 1, uid: UInt32, gid: UInt32) {
        self.mediaLifetimeSeconds = mediaLifetimeSeconds
        self.cacheTimeout = cacheTimeout
        self.uid = uid
        self.gid = gid
    }
}
