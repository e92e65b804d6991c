import FUSEKit
import MediaCatalog

#if canImport(Glibc)
import Glibc
#endif

/// What the background queue changes for the rest of the tree. A queued file's size and bytes
/// are its queued copy's, not the catalog's (which knows the last upload), its state is the
/// queue's, and its sidecar tells an id only once the server has its current bytes, so asking
/// for it waits for the queued upload.
extension TemporaryMediaTree {
    /// The size of what is queued for a file: its bytes as last closed, before the server has them.
    func queuedSize(of entry: CatalogEntry) -> Int64? {
        guard !entry.isDirectory, let id = entry.id else { return nil }
        return queue.item(id)?.size
    }

    /// A descriptor of the queued bytes of entry `id`, the file's newest, if any are queued.
    func openQueuedBytes(of id: Int64) throws -> Int32? { try queue.openQueuedBytes(of: id) }

    /// Where a file's upload is, as `user.wechat.state` and `user.wechat.error` tell it:
    /// queued|uploading|failed (with why), uploaded, or a placeholder never uploaded; on
    /// another host's queue. Its media id shows only when this returns `showsMediaID`.
    func uploadState(of entry: CatalogEntry, id: Int64) async throws -> (
        attributes: [String: String], showsMediaID: Bool
    ) {
        if let queued = queue.stateAttributes(of: id) { return (queued, false) }
        var attributes = [WeChatAttributes.prefix + "state": entry.state.rawValue]
        if entry.state == .queued, let holder = try await catalog.queueHolder(of: id) {
            // Another host's queue, listed here only once that host stopped.
            attributes[WeChatAttributes.prefix + "state"] =
                "queued on host \(holder.host)" + (holder.running ? "" : ", which is not running")
        }
        return (attributes, entry.state == .uploaded)
    }

    /// `owner` as its sidecar should tell it: at once if nothing is queued for it; else after
    /// its queued upload ended (at most `queuedUploadWait`), read again. Nil when it has no id
    /// to tell; throws the upload's errno when it failed, ETIMEDOUT when the wait ran out.
    func uploadedOwner(_ owner: CatalogEntry) async throws -> CatalogEntry? {
        guard let id = owner.id, !owner.isDirectory else { return nil }
        guard queue.item(id) != nil else {
            if owner.state == .uploaded { return owner }
            // Its upload may have ended since `owner` was read.
            guard owner.state == .queued, let now = try await expiry.entry(id: id), now.state == .uploaded else {
                return nil
            }
            return now
        }
        switch await queue.wait(for: id, timeout: settings.queuedUploadWait) {
        case .failed(let code): throw FUSEError(code)
        case .timedOut: throw FUSEError(ETIMEDOUT)
        case .nothingQueued:
            guard let now = try await expiry.entry(id: id), now.state == .uploaded, queue.item(id) == nil else {
                return nil
            }
            return now
        }
    }

    /// `fsync` of a file: waits for its queued upload, however long the queue ahead of it takes,
    /// and fails with that upload's errno.
    func waitForQueuedUpload(of entryID: Int64) async throws { try await queue.waitForQueuedUpload(of: entryID) }
}
