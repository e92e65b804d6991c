import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Folders, deletion and renames: all local metadata, never a request to the server.
extension MediaFileSystem {
    public func mkdir(parent: Inode, name: String, permissions: UInt32, caller: Caller) async throws -> Entry {
        let type = try await uploadFolder(parent, forCreating: name)
        let now = timespec.now.nanoseconds
        do {
            let created = try await catalog.insert(
                CatalogEntry(
                    parent: parent, name: name, type: type, state: .directory, mode: permissions, uid: caller.uid,
                    gid: caller.gid, accessTime: now, modificationTime: now, changeTime: now))
            return entry(attributes(of: created))
        } catch MediaCatalogDatabase.Failure.nameTaken {
            throw FUSEError.exists
        }
    }

    public func unlink(parent: Inode, name: String) async throws {
        let target = try await existingName(parent: parent, name: name)
        guard !target.isDirectory else { throw FUSEError.isDirectory }
        try await catalog.delete(id: target.id ?? 0)
    }

    public func rmdir(parent: Inode, name: String) async throws {
        let target = try await existingName(parent: parent, name: name)
        guard target.isDirectory else { throw FUSEError.notDirectory }
        guard try await !catalog.hasChildren(Node.entryInode(target.id ?? 0)) else { throw FUSEError.notEmpty }
        try await catalog.delete(id: target.id ?? 0)
    }

    public func rename(parent: Inode, name: String, newParent: Inode, newName: String, flags: RenameFlags) async throws
    {
        guard !flags.contains(.exchange) else { throw FUSEError.invalid }
        let source = try await existingName(parent: parent, name: name)
        let targetType: MediaType
        do {
            targetType = try await uploadFolder(newParent, forCreating: newName)
        } catch let error as FUSEError where error == .readOnly {
            throw FUSEError.crossDevice
        }
        // Another upload folder is another API type: let mv fall back to copy and delete.
        guard targetType == source.type else { throw FUSEError.crossDevice }
        if source.isDirectory, try await isInside(newParent, directory: source.id ?? 0) { throw FUSEError.invalid }
        var replacing: Int64?
        if let existing = try await liveEntry(parent: newParent, name: newName) {
            guard existing.id != source.id else { return }
            guard !flags.contains(.noReplace) else { throw FUSEError.exists }
            if existing.isDirectory {
                guard source.isDirectory else { throw FUSEError.isDirectory }
                guard try await !catalog.hasChildren(Node.entryInode(existing.id ?? 0)) else {
                    throw FUSEError.notEmpty
                }
            } else if source.isDirectory {
                throw FUSEError.notDirectory
            }
            replacing = existing.id
        } else if let stale = try await catalog.entry(parent: newParent, name: newName) {
            // An expired entry still holds the name in the catalog: it goes.
            replacing = stale.id
        }
        // Sidecars are never cached by the kernel, so the sidecar follows its file at once.
        try await catalog.move(id: source.id ?? 0, newParent: newParent, newName: newName, replacing: replacing)
    }

    /// The catalog entry at `parent`/`name`, or the errno for what else is there.
    private func existingName(parent: Inode, name: String) async throws -> CatalogEntry {
        switch Node(parent) {
        case .root: throw MediaType(rawValue: name) != nil || name == "by-id" ? FUSEError.readOnly : FUSEError.notFound
        case .byIDFolder: throw FUSEError.accessDenied
        case .typeFolder, .entry: break
        default: throw FUSEError.notDirectory
        }
        if let entry = try await liveEntry(parent: parent, name: name) { return entry }
        if name.hasSuffix(sidecarSuffix),
            let owner = try await liveEntry(parent: parent, name: String(name.dropLast(sidecarSuffix.count))),
            owner.state == .uploaded
        {
            throw FUSEError.accessDenied
        }
        throw FUSEError.notFound
    }

    /// Whether folder inode `inode` is directory entry `id` or lies inside it.
    private func isInside(_ inode: Inode, directory id: Int64) async throws -> Bool {
        var current = inode
        for _ in 0..<256 {
            guard case .entry(let currentID) = Node(current) else { return false }
            if currentID == id { return true }
            guard let folder = try await catalog.entry(id: currentID) else { return false }
            current = folder.parent
        }
        return true
    }
}
