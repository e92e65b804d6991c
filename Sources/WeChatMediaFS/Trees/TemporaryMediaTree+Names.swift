import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Folders, deletion and renames: all local metadata, never a request to the server.
extension TemporaryMediaTree {
    func mkdir(_ name: String, in parent: Node, permissions: UInt32, caller: Caller) async throws -> Entry {
        let folder = try await uploadFolder(parent, forCreating: name)
        try Self.checkFolderName(name)
        let now = context.clock.now()
        do {
            let created = try await insertTakingExpiredName(
                CatalogEntry(
                    folder: folder, name: name, state: .directory, mode: permissions, uid: caller.uid,
                    gid: caller.gid, accessTime: now, modificationTime: now, changeTime: now))
            return context.entry(attributes(of: created))
        } catch CatalogError.nameTaken {
            throw FUSEError.exists
        }
    }

    func unlink(_ name: String, in parent: Node) async throws {
        if let sidecar = SidecarName(name), try await unlinkSidecar(sidecar, in: parent) { return }
        let target = try await existingName(parent: parent, name: name)
        guard !target.isDirectory else { throw FUSEError.isDirectory }
        // Removed only if it is still this name: another host may have renamed it meanwhile.
        try await refusalsAsErrno {
            try await catalog.remove(
                id: target.id ?? 0, at: .init(folder: target.folder, name: target.name), time: context.clock.now())
        }
        // A queued file's upload goes with it (one in flight is dropped when it answers).
        queue.forget(target.id ?? 0)
    }

    func rmdir(_ name: String, in parent: Node) async throws {
        let target = try await existingName(parent: parent, name: name)
        guard let folder = target.asFolder else { throw FUSEError.notDirectory }
        // The catalog checks emptiness and removes in one step: no host can add to it meanwhile.
        try await refusalsAsErrno {
            try await catalog.removeFolder(
                id: target.id ?? 0, at: .init(folder: target.folder, name: target.name),
                expiredAtOrBefore: expiry.cutoff, time: context.clock.now())
        }
        folderTypes.forget(folder.parentID)
    }

    func rename(_ name: String, in parent: Node, to newName: String, in newParent: RenameTarget, flags: RenameFlags)
        async throws
    {
        if let sidecar = SidecarName(name) { try await refuseRenamingSidecar(sidecar, in: parent, to: newParent) }
        let source = try await existingName(parent: parent, name: name)
        guard case .folder(let targetNode) = newParent else {
            if case .refused(let error) = newParent { throw error }
            throw FUSEError.crossDevice
        }
        let target = try await uploadFolder(targetNode, forCreating: newName)
        // Another upload folder is another API type: let mv fall back to copy and delete.
        guard target.type == source.type else { throw FUSEError.crossDevice }
        if source.isDirectory { try Self.checkFolderName(newName) } else { try Self.checkFileName(newName) }
        if let moved = source.asFolder, try await isInside(target, moved) { throw FUSEError.invalid }
        var replacing: Int64?
        if let existing = try await expiry.entry(in: target, named: newName) {
            guard existing.id != source.id else { return }
            guard !flags.contains(.noReplace) else { throw FUSEError.exists }
            if let replaced = existing.asFolder {
                guard source.isDirectory else { throw FUSEError.isDirectory }
                guard try await !expiry.hasChildren(replaced) else { throw FUSEError.notEmpty }
            } else if source.isDirectory {
                throw FUSEError.notDirectory
            }
            replacing = existing.id
        } else if let stale = try await catalog.entry(in: target, named: newName) {
            // An expired entry still holds the name in the catalog: it goes.
            replacing = stale.id
        }
        // Sidecars are never cached by the kernel, so the sidecar follows its file at once.
        // The move names its source: if another host moved or removed it meanwhile, ENOENT.
        try await refusalsAsErrno {
            try await catalog.move(
                id: source.id ?? 0, from: .init(folder: source.folder, name: source.name), to: target, name: newName,
                replacing: replacing, changeTime: context.clock.now())
        }
        if let replacing { queue.forget(replacing) }
    }

    /// The catalog entry at `parent`/`name`, or the errno for what else is there.
    private func existingName(parent: Node, name: String) async throws -> CatalogEntry {
        // The catalog's removal or move names this folder and name: a stale folder type does no harm.
        guard let folder = try await catalogFolderForLookup(parent) else { throw FUSEError.notDirectory }
        if let entry = try await expiry.entry(in: folder, named: name) { return entry }
        if try await isSidecarOfFile(name, in: folder) { throw FUSEError.accessDenied }
        throw FUSEError.notFound
    }

    /// Inserts `entry`; a name held only by an expired entry (hidden, not swept yet) is taken
    /// over, as the user sees no such name. Throws `CatalogError.nameTaken` for a live one.
    func insertTakingExpiredName(_ entry: CatalogEntry) async throws -> CatalogEntry {
        do {
            return try await refusalsAsErrno { try await catalog.insert(entry) }
        } catch CatalogError.nameTaken {
            guard try await expiry.entry(in: entry.folder, named: entry.name) == nil,
                let stale = try await catalog.entry(in: entry.folder, named: entry.name), let id = stale.id
            else { throw CatalogError.nameTaken }
            try await catalog.delete(id: id)
            return try await catalog.insert(entry)
        }
    }

    /// Runs a structural change of the catalog; its refusals (a name another host moved or
    /// removed meanwhile, a folder not empty) are the call's errno, not failures to log.
    func refusalsAsErrno<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CatalogError where error.isRefusal {
            throw FUSEError(error.errno)
        }
    }

    /// Whether `folder` is `directory` or lies inside it.
    private func isInside(_ folder: CatalogFolder, _ directory: CatalogFolder) async throws -> Bool {
        var current = folder
        for _ in 0..<256 {
            if current.isTopLevel { return false }
            if current.parentID == directory.parentID { return true }
            guard let parent = try await catalog.entry(id: current.parentID) else { return false }
            current = parent.folder
        }
        return true
    }
}
