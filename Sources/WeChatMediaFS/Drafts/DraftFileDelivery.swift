import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Where a closed file of an article folder goes: its bytes become the file's (in the cache
/// dir), and the folder is planned again. An article that breaks a rule fails its own close
/// with EINVAL (its bytes are kept, to be fixed); anything else the folder waits for or fails
/// on is told by the folder's xattrs, `status` and `wxmediafs sync`.
struct DraftFileDelivery: SpoolDelivery {
    let context: MountContext
    let catalog: any DraftCatalog
    let builds: DraftBuilds
    let bytes: DraftFileBytes

    func deliver(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Bool {
        guard var file = try await catalog.draftFile(id: entryID),
            let folder = try await catalog.draftFolder(id: file.folderID)
        else { throw FUSEError.notFound }
        var info = stat()
        guard fstat(spool.descriptor, &info) == 0 else { throw FUSEError(errno) }
        let contentHash = try MaterialUploads.sha256(of: spool.descriptor)
        file.contentHash = contentHash
        file.size = Int64(info.st_size)
        do {
            try await bytes.keep(spoolPath: spool.path, id: entryID, contentHash: contentHash)
        } catch CatalogError.entryGone {
            // Removed while it was written (the shared catalog's bytes need their file): the
            // spool stays the handle's, to go with it.
            return false
        }
        let now = context.clock.now()
        (file.modificationTime, file.changeTime) = (now, now)
        do {
            try await catalog.updateDraftFile(file)
        } catch CatalogError.entryGone {
            // Removed while it was written: its bytes go with it.
            bytes.remove(id: entryID)
            return true
        }
        if let problem = await builds.changed(folder, closing: file.name) { throw problem }
        return true
    }

    func abandon(entryID: Int64, isNew: Bool) async {
        guard isNew else { return }
        try? await catalog.deleteDraftFile(id: entryID)
        bytes.remove(id: entryID)
    }

    /// `touch` of a new name in a folder is a change like any other.
    func settleUnwritten(entryID: Int64) async throws {
        guard let file = try await catalog.draftFile(id: entryID), file.contentHash == nil,
            let folder = try await catalog.draftFolder(id: file.folderID)
        else { return }
        if let problem = await builds.changed(folder, closing: file.name) { throw problem }
    }

    func displayPath(of entryID: Int64) async -> String? {
        guard let file = try? await catalog.draftFile(id: entryID),
            let folder = try? await catalog.draftFolder(id: file.folderID)
        else { return nil }
        return DraftsTree.displayPath(of: folder, file: file.name)
    }
}
