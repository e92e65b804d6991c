import FUSEKit
import MediaCatalog

#if canImport(Glibc)
import Glibc
#endif

/// What the background queue changes for the rest of the tree: a sidecar tells an id only once
/// the server has the file's current bytes, so asking for it waits for a queued upload.
extension MediaFileSystem {
    /// `owner` as its sidecar should tell it: at once if nothing is queued for it; else after
    /// its queued upload ended (at most `queuedUploadWait`), read again. Nil when it has no id
    /// to tell; throws the upload's errno when it failed, ETIMEDOUT when the wait ran out.
    func uploadedOwner(_ owner: CatalogEntry) async throws -> CatalogEntry? {
        guard let id = owner.id, !owner.isDirectory else { return nil }
        guard uploadQueue.item(id) != nil else {
            if owner.state == .uploaded { return owner }
            // Its upload may have ended since `owner` was read.
            guard owner.state == .queued, let now = try await liveEntry(id: id), now.state == .uploaded else {
                return nil
            }
            return now
        }
        switch await uploadQueue.wait(for: id, timeout: settings.queuedUploadWait) {
        case .failed(let code): throw FUSEError(code)
        case .timedOut: throw FUSEError(ETIMEDOUT)
        case .nothingQueued:
            guard let now = try await liveEntry(id: id), now.state == .uploaded, uploadQueue.item(id) == nil else {
                return nil
            }
            return now
        }
    }

    /// `fsync` of a file: waits for its queued upload, however long the queue ahead of it takes,
    /// and fails with that upload's errno.
    func waitForQueuedUpload(of entryID: Int64) async throws {
        // Most fsyncs (every one in sync mode) find nothing queued: no waiter to set up.
        guard uploadQueue.item(entryID) != nil else { return }
        if case .failed(let code) = await uploadQueue.wait(for: entryID, timeout: nil) { throw FUSEError(code) }
    }
}
