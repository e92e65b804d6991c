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
    func openQueuedBytes(of id: Int64) throws -> Int32? {
        guard let queued = queue.item(id) else { return nil }
        let descriptor = Glibc.open(queued.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FUSEError.io }
        return descriptor
    }

    /// Where a file's upload is, as `user.wechat.state` and `user.wechat.error` tell it:
    /// queued|uploading|failed (with why), uploaded, or a placeholder never uploaded; on
    /// another host's queue. Its media id shows only when this returns `showsMediaID`.
    func uploadState(of entry: CatalogEntry, id: Int64) async throws -> (
        attributes: [String: String], showsMediaID: Bool
    ) {
        let prefix = WeChatAttributes.prefix
        let queued = queue.item(id)
        var attributes = [prefix + "state": queued?.phase.rawValue ?? entry.state.rawValue]
        if let failure = queued?.failure?.display {
            attributes[prefix + "error"] = WeChatAttributes.describe(failure)
        }
        if queued == nil, entry.state == .queued, let holder = try await catalog.queueHolder(of: id) {
            // Another host's queue, listed here only once that host stopped.
            attributes[prefix + "state"] =
                "queued on host \(holder.host)" + (holder.running ? "" : ", which is not running")
        }
        return (attributes, queued == nil && entry.state == .uploaded)
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
    func waitForQueuedUpload(of entryID: Int64) async throws {
        // Most fsyncs (every one in sync mode) find nothing queued: no waiter to set up.
        guard queue.item(entryID) != nil else { return }
        if case .failed(let code) = await queue.wait(for: entryID, timeout: nil) { throw FUSEError(code) }
    }
}
