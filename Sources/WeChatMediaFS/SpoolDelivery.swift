import WeChatMedia

/// Where a write handle's bytes go when it is closed: each tree that takes files has its own
/// (the temporary-media folders' `UploadRoute`, the material library's `MaterialUploads`), and
/// the handle carries it, so closing a file asks no tree.
protocol SpoolDelivery: Sendable {
    /// Delivers `spool` as entry `entryID`'s new content; returns whether the spool file now
    /// belongs to another (the content cache, or a queue): the handle may read it, never write it.
    func deliver(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Bool
    /// A write that failed for good: a new name goes away, an older content stays.
    func abandon(entryID: Int64, isNew: Bool) async
    /// A file closed without new bytes: one still being written becomes a placeholder.
    func settleUnwritten(entryID: Int64) async throws
    /// The entry's path in the mount, for the log.
    func displayPath(of entryID: Int64) async -> String?
}
