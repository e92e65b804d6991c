import LocalByteStore
import MediaCatalog
import WeChatMedia

/// Where a closed file's bytes go: to the server before `close()` returns (`sync`), or, once
/// the local rules accept them, into the durable queue (`background`).
struct UploadRoute: SpoolDelivery {
    let uploader: Uploader
    let queue: UploadQueue?

    /// Delivers `spool` as entry `entryID`'s new content; returns whether the spool file now
    /// belongs to another (the content cache, or the queue): the handle may read it, never write it.
    func deliver(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Bool {
        guard let queue else {
            return try await uploader.upload(spool: spool, entryID: entryID, type: type, isNew: isNew)
        }
        let size = try await uploader.checkBeforeQueueing(spool: spool, entryID: entryID, type: type, isNew: isNew)
        guard size > 0 else {
            // Emptied: a placeholder now, and older bytes still queued are no longer its content.
            queue.forget(entryID)
            return false
        }
        do {
            try await queue.enqueue(spool: spool, size: size, entryID: entryID, type: type)
        } catch {
            // Not queued (a full disk, the catalog away): close fails, and a new name goes, as a
            // failed sync upload's does.
            await uploader.abandon(entryID: entryID, isNew: isNew)
            throw error
        }
        return true
    }

    func abandon(entryID: Int64, isNew: Bool) async {
        await uploader.abandon(entryID: entryID, isNew: isNew)
    }

    func settleUnwritten(entryID: Int64) async throws {
        try await uploader.settleUnwritten(entryID: entryID)
    }

    func displayPath(of entryID: Int64) async -> String? {
        guard let entry = try? await uploader.catalog.entry(id: entryID) else { return nil }
        return await uploader.catalog.displayPath(of: entry)
    }
}
