import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Folders, deletion and renames: all local metadata, never a request to the server.
extension MediaFileSystem {
    public func mkdir(parent: Inode, name: String, permissions: UInt32, caller: Caller) async throws -> Entry {
        let folder = try await uploadFolder(parent, forCreating: name)
        try Self.checkFolderName(name)
        let now = clock.now()
        do {
            let created = try await insertTakingExpiredName(
                CatalogEntry(
                    folder: folder, name: name, state: .directory, mode: permissions, uid: caller.uid,
                    gid: caller.gid, accessTime: now, modificationTime: now, changeTime: now))
            return entry(attributes(of: created))
        } catch CatalogError.nameTaken {
            throw FUSEError.exists
        }
    }

    public func unlink(parent: Inode, name: String) async throws {
        if settings.sidecars == .off, name.hasSuffix(sidecarSuffix), let folder = try? await catalogFolder(parent),
            discardedSidecars.contains(name, in: folder)
        {
            return discardedSidecars.forget(name, in: folder)
        }
        // rsync --delete and mv across folders remove the sidecars they see: accepted, unchanged.
        if name.hasSuffix(sidecarSuffix), let folder = try? await catalogFolder(parent),
            let owner = try await owner(ofSidecarNamed: name, in: folder), owner.state == .uploaded
        {
            return
        }
        let target = try await existingName(parent: parent, name: name)
        guard !target.isDirectory else { throw FUSEError.isDirectory }
        // Removed only if it is still this name: another host may have renamed it meanwhile.
        try await refusalsAsErrno {
            try await catalog.remove(
                id: target.id ?? 0, at: .init(folder: target.folder, name: target.name), time: clock.now())
        }
        // A queued file's upload goes with it (one in flight is dropped when it answers).
        uploadQueue.forget(target.id ?? 0)
    }

    public func rmdir(parent: Inode, name: String) async throws {
        let target = try await existingName(parent: parent, name: name)
        guard let folder = target.asFolder else { throw FUSEError.notDirectory }
        // The catalog checks emptiness and removes in one step: no host can add to it meanwhile.
        try await refusalsAsErrno {
            try await catalog.removeFolder(
                id: target.id ?? 0, at: .init(folder: target.folder, name: target.name),
                expiredAtOrBefore: clock.seconds.saturatingAdd(-settings.mediaLifetimeSeconds), time: clock.now())
        }
        folderTypes.forget(folder.parentID)
    }

    public func rename(parent: Inode, name: String, newParent: Inode, newName: String, flags: RenameFlags) async throws
    {
        guard !flags.contains(.exchange) else { throw FUSEError.invalid }
        if name.hasSuffix(sidecarSuffix), let folder = try? await catalogFolder(parent),
            let owner = try await owner(ofSidecarNamed: name, in: folder), owner.state == .uploaded
        {
            // mv of a tree across upload folders renames each name, sidecars too, and copies on
            // EXDEV: a sidecar moves with its file or not at all.
            let target = try? await catalogFolder(newParent)
            throw target?.type == folder.type ? FUSEError.accessDenied : FUSEError.crossDevice
        }
        let source = try await existingName(parent: parent, name: name)
        let target: CatalogFolder
        do {
            target = try await uploadFolder(newParent, forCreating: newName)
        } catch let error as FUSEError where error == .readOnly {
            throw FUSEError.crossDevice
        }
        // Another upload folder is another API type: let mv fall back to copy and delete.
        guard target.type == source.type else { throw FUSEError.crossDevice }
        if source.isDirectory { try Self.checkFolderName(newName) } else { try Self.checkFileName(newName) }
        if let moved = source.asFolder, try await isInside(target, moved) { throw FUSEError.invalid }
        var replacing: Int64?
        if let existing = try await liveEntry(in: target, named: newName) {
            guard existing.id != source.id else { return }
            guard !flags.contains(.noReplace) else { throw FUSEError.exists }
            if let replaced = existing.asFolder {
                guard source.isDirectory else { throw FUSEError.isDirectory }
                guard try await !hasLiveChildren(replaced) else { throw FUSEError.notEmpty }
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
                replacing: replacing, changeTime: clock.now())
        }
        if let replacing { uploadQueue.forget(replacing) }
    }

    /// The catalog entry at `parent`/`name`, or the errno for what else is there.
    private func existingName(parent: Inode, name: String) async throws -> CatalogEntry {
        switch Node(parent) {
        case .root: throw MediaType(rawValue: name) != nil || name == "by-id" ? FUSEError.readOnly : FUSEError.notFound
        case .byIDFolder: throw FUSEError.accessDenied
        case .typeFolder, .entry: break
        default: throw FUSEError.notDirectory
        }
        // The catalog's removal or move names this folder and name: a stale folder type does no harm.
        guard let folder = try await catalogFolderForLookup(parent) else { throw FUSEError.notDirectory }
        if let entry = try await liveEntry(in: folder, named: name) { return entry }
        if name.hasSuffix(sidecarSuffix),
            let owner = try await liveEntry(in: folder, named: String(name.dropLast(sidecarSuffix.count))),
            owner.state == .uploaded
        {
            throw FUSEError.accessDenied
        }
        throw FUSEError.notFound
    }

    /// Inserts `entry`; a name held only by an expired entry (hidden, not swept yet) is taken
    /// over, as the user sees no such name. Throws `CatalogError.nameTaken` for a live one.
    func insertTakingExpiredName(_ entry: CatalogEntry) async throws -> CatalogEntry {
        do {
            return try await refusalsAsErrno { try await catalog.insert(entry) }
        } catch CatalogError.nameTaken {
            guard try await liveEntry(in: entry.folder, named: entry.name) == nil,
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

    func hasLiveChildren(_ folder: CatalogFolder) async throws -> Bool {
        try await catalog.hasChildren(folder, bornAfter: clock.seconds.saturatingAdd(-settings.mediaLifetimeSeconds))
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
