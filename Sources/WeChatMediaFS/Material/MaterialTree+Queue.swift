import FUSEKit
import MediaCatalog

#if canImport(Glibc)
import Glibc
#endif

/// What the material queue (background mode) changes for the rest of the tree, as the upload
/// folders' queue does for theirs: a queued file's size and bytes are its queued copy's, its
/// state is the queue's, and its sidecar tells an id only once the library holds its current
/// bytes, so asking for it waits for the queued add.
extension MaterialTree {
    /// The size of what is queued for entry `id`: its bytes as last closed.
    func queuedSize(of id: Int64) -> Int64? { queue.item(id)?.size }

    /// A descriptor of the queued bytes of entry `id`, the file's newest, if any are queued.
    func openQueuedBytes(of id: Int64) throws -> Int32? { try queue.openQueuedBytes(of: id) }

    /// The sidecar's entry: `entry` at once if nothing is queued for it; else once its queued
    /// add ended (at most `queuedUploadWait`), read again. Nil when it has no id to tell; throws
    /// the add's errno when it failed, ETIMEDOUT when the wait ran out.
    func uploadedEntry(_ entry: MaterialEntry) async throws -> MaterialEntry? {
        guard let id = entry.id else { return nil }
        guard queue.item(id) != nil else {
            if entry.state == .uploaded { return entry }
            // Its add may have ended since `entry` was read.
            guard entry.state == .queued, let now = try await catalog.materialEntry(id: id), now.state == .uploaded
            else { return nil }
            return now
        }
        switch await queue.wait(for: id, timeout: context.settings.queuedUploadWait) {
        case .failed(let code): throw FUSEError(code)
        case .timedOut: throw FUSEError(ETIMEDOUT)
        case .nothingQueued:
            guard let now = try await catalog.materialEntry(id: id), now.state == .uploaded, queue.item(id) == nil
            else { return nil }
            return now
        }
    }

    /// `fsync` of a file: waits for its queued add and fails with its errno.
    func fsync(_ node: Node) async throws {
        guard case .material(let id) = node else { return }
        try await queue.waitForQueuedUpload(of: id)
    }
}
