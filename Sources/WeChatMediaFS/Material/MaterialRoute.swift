import WeChatMedia

/// Where a closed `/material/` file's bytes go: added to the library before `close()` returns
/// (`sync`), or, once the local checks accept them, into the material queue (`background`),
/// as the upload folders' `UploadRoute` does for temporary media.
struct MaterialRoute: SpoolDelivery {
    let uploads: MaterialUploads
    let queue: UploadQueue?

    func deliver(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Bool {
        switch try await uploads.prepare(spool: spool, entryID: entryID) {
        case .settled(let adopted):
            // Emptied, unchanged, or sharing an id now: older bytes still queued are not its content.
            queue?.forget(entryID)
            return adopted
        case .add(let entry, let size, let hash):
            guard let queue else {
                return try await uploads.send(spool, as: entry, size: size, hash: hash, isNew: isNew)
            }
            try await uploads.checkBeforeQueueing(entry, file: spool.path, isNew: isNew)
            do {
                try await queue.enqueue(spool: spool, size: size, entryID: entryID, type: type)
            } catch {
                // Not queued (a full disk, the catalog away): close fails, and a new name goes.
                await uploads.abandon(entry, isNew: isNew)
                throw error
            }
            return true
        }
    }

    func abandon(entryID: Int64, isNew: Bool) async {
        await uploads.abandon(entryID: entryID, isNew: isNew)
    }

    func settleUnwritten(entryID: Int64) async throws {
        try await uploads.settleUnwritten(entryID: entryID)
    }

    func displayPath(of entryID: Int64) async -> String? {
        await uploads.displayPath(of: entryID)
    }
}
