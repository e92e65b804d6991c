import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Creating, opening, removing and renaming `/material/` files, and their attributes. The API
/// cannot rename or replace a material: a rename is the catalog's alone, and an overwrite adds a
/// new material (the old one stays in the library, listed under its server name).
extension MaterialTree {
    func create(_ name: String, in parent: Node, permissions: UInt32, flags: Int32, caller: Caller) async throws
        -> (Entry, OpenedFile)
    {
        guard case .materialFolder(let folder) = parent else {
            throw parent == .materialRoot ? FUSEError(EPERM) : FUSEError.notDirectory
        }
        guard Self.owner(ofSidecar: name, in: folder) == nil else { throw FUSEError.accessDenied }
        guard Self.sidecar(of: name, in: folder).utf8.count <= 255 else { throw FUSEError.nameTooLong }
        if caps.isFull(folder) {
            throw context.reporter.report(
                "upload", of: "material/\(folder.rawValue)/\(name)", FUSEError(EDQUOT), errno: EDQUOT,
                reason: caps.fullReason(folder))
        }
        let now = context.clock.now()
        let spool = try context.newSpoolFile()
        let created: MaterialEntry
        do {
            created = try await catalog.insertMaterial(
                MaterialEntry(
                    folder: folder, name: name, state: .writing, mode: permissions, uid: caller.uid, gid: caller.gid,
                    accessTime: now, modificationTime: now, changeTime: now))
        } catch CatalogError.nameTaken {
            spool.discard()
            guard flags & O_EXCL == 0 else { throw FUSEError.exists }
            guard let existing = try await catalog.materialEntry(in: folder, named: name) else {
                throw FUSEError(EBUSY)
            }
            let opened = try await open(.material(existing.id ?? 0), flags: flags, caller: caller)
            let (attributes, timeout) = currentAttributes(of: existing)
            return (context.entry(attributes, timeout: timeout), opened)
        } catch {
            spool.discard()
            throw error
        }
        let handle = writeHandle(for: created, spool: spool, dirty: false, isNew: true, caller: caller)
        return (
            context.createdEntry(attributes(of: created), flags: flags),
            OpenedFile(handle: context.openFiles.register(.write(handle)))
        )
    }

    func open(_ node: Node, flags: Int32, caller: Caller) async throws -> OpenedFile {
        let writing = flags & O_ACCMODE != O_RDONLY
        switch node {
        case .material(let id):
            guard let entry = try await catalog.materialEntry(id: id) else { throw FUSEError.notFound }
            if writing { return try await openForWriting(entry, truncate: flags & O_TRUNC != 0, caller: caller) }
            return try await openForReading(entry)
        case .materialSidecar(let id):
            guard !writing else { throw FUSEError.accessDenied }
            guard let owner = try await catalog.materialEntry(id: id), let entry = try await uploadedEntry(owner),
                let content = Self.sidecarContent(of: entry)
            else { throw FUSEError.notFound }
            return OpenedFile(handle: context.openFiles.register(.bytes(content)))
        default:
            throw FUSEError.isDirectory
        }
    }

    /// Cached bytes if there are any; else a download (`get_material`, a video through its
    /// `down_url`, an article image from its URL), read as it arrives.
    private func openForReading(_ entry: MaterialEntry) async throws -> OpenedFile {
        if let descriptor = try openQueuedBytes(of: entry.id ?? 0) {
            // Not in the library yet (or its add failed): its local bytes.
            return OpenedFile(handle: context.openFiles.register(.local(LocalFileHandle(descriptor: descriptor))))
        }
        guard entry.state == .uploaded, let key = Self.contentKey(of: entry) else {
            return OpenedFile(handle: context.openFiles.register(.bytes([])))
        }
        guard let source = Self.source(of: entry) else { throw FUSEError.io }
        if context.cache.hasContent(for: key), let local = try? await context.openCached(key) {
            // Downloaded whole by an earlier reader that let go before the end: the size is known.
            _ = await keepSize(of: entry)
            return OpenedFile(handle: context.openFiles.register(local), keepCache: true)
        }
        let size = entry.size >= 0 ? entry.size : nil
        let file = OpenFile.remote(
            RemoteContent(
                mediaID: key, size: size, source: source, sizeLearntBy: size == nil ? .material(entry.id ?? 0) : nil))
        // A size the server never told is learnt by reading to the end.
        return OpenedFile(handle: context.openFiles.register(file), directIO: size == nil, keepCache: size != nil)
    }

    /// A material the listing gave no size was read to its end: its cached bytes tell the size,
    /// which the catalog keeps, and the kernel forgets the 0 it was told.
    func learnSize(of node: Node) async {
        guard case .material(let id) = node, let entry = try? await catalog.materialEntry(id: id),
            await keepSize(of: entry)
        else { return }
        await context.kernelCache.invalidateInode(node.inode)
    }

    /// Records the size of a material the listing gave none, once its bytes are cached whole;
    /// whether it did.
    private func keepSize(of entry: MaterialEntry) async -> Bool {
        guard entry.size < 0, let id = entry.id, let size = knownSize(of: entry) else { return false }
        return (try? await catalog.recordMaterialSize(id: id, size: size)) != nil
    }

    /// Where a material's bytes are fetched from: the library by id, an article image by URL.
    static func source(of entry: MaterialEntry) -> DownloadCoordinator.Source? {
        if entry.mediaID != nil { return .material }
        return entry.url.map { .url($0) }
    }

    private func openForWriting(_ entry: MaterialEntry, truncate: Bool, caller: Caller) async throws -> OpenedFile {
        // Queued bytes are the file's newest: a rewrite starts from them.
        var source = truncate ? nil : try openQueuedBytes(of: entry.id ?? 0)
        if source == nil, !truncate, entry.state == .uploaded, let key = Self.contentKey(of: entry),
            let from = Self.source(of: entry)
        {
            // Changing part of a material starts from its bytes (downloaded if not cached).
            source = try await context.openWholeContent(
                key, from: from, expectedSize: entry.size >= 0 ? entry.size : nil)
        }
        defer { if let source { close(source) } }
        let handle = writeHandle(
            for: entry, spool: try context.newSpoolFile(copyingFrom: source),
            dirty: truncate && entry.state == .uploaded, isNew: false, caller: caller)
        return OpenedFile(handle: context.openFiles.register(.write(handle)))
    }

    private func writeHandle(for entry: MaterialEntry, spool: SpoolFile, dirty: Bool, isNew: Bool, caller: Caller)
        -> WriteHandle
    {
        let id = entry.id ?? 0
        return WriteHandle(
            entryID: id, inode: Node.material(id).inode, type: entry.folder.mediaType,
            sizeLimit: Self.sizeLimit(of: entry.folder), delivery: route, openerThread: caller.pid,
            cache: context.cache, spool: spool, dirty: dirty, isNew: isNew)
    }

    /// The most a file of `folder` may hold: the current docs' material limits, 1 MB for an
    /// article image.
    static func sizeLimit(of folder: MaterialFolder) -> Int64 {
        folder == .articleImages
            ? Int64(WeChatMediaClient.articleImageLimit)
            : Int64(WeChatMediaClient.materialRules.profile.maxSize(for: folder.mediaType))
    }

    // MARK: Removing and renaming

    /// `rm` forgets a name the library does not hold (an article image, a placeholder); one that
    /// holds a material deletes it from the account only with `--allow-delete` (else EPERM: a
    /// stray `rm -rf` must not empty the library), and only once no other name holds it.
    func unlink(_ name: String, in parent: Node) async throws {
        guard case .materialFolder(let folder) = parent else {
            throw parent == .materialRoot ? FUSEError(EPERM) : FUSEError.notDirectory
        }
        if let owner = Self.owner(ofSidecar: name, in: folder) {
            // Derived, as in the upload folders: removing it changes nothing while its file is there.
            guard try await catalog.materialEntry(in: folder, named: owner) != nil else { throw FUSEError.notFound }
            return
        }
        guard let entry = try await catalog.materialEntry(in: folder, named: name), let id = entry.id else {
            throw FUSEError.notFound
        }
        if folder != .articleImages, entry.state == .uploaded, let mediaID = entry.mediaID {
            let path = Self.displayPath(of: entry)
            guard context.settings.allowDelete else {
                context.logger.error(
                    "rm of \(path) refused (EPERM): deleting permanent material needs a mount with --allow-delete")
                throw FUSEError(EPERM)
            }
            let others = try await catalog.materialEntries(in: folder, mediaID: mediaID).filter { $0.id != id }
            if others.isEmpty {
                do {
                    try await service.deleteMaterial(mediaID: mediaID)
                } catch let error as APIError where error.kind == .notFound {
                    // Gone already (deleted elsewhere): the name goes too.
                } catch {
                    throw context.reporter.report("delete", of: path, error)
                }
                caps.removed(from: folder)
                await context.budget.remove(mediaID)
                context.logger.notice("deleted \(path) (media_id \(mediaID)) from the library")
            }
        }
        try await catalog.deleteMaterial(id: id)
        queue.forget(id)
        // The kernel drops the name itself, not its sidecar's; told once this `rm` lets go of
        // the folder's lock (awaiting it here would wait for that lock).
        context.kernelCache.postInvalidateEntry(parent: parent.inode, name: Self.sidecar(of: name, in: folder))
    }

    func rmdir(_ name: String, in parent: Node) async throws {
        switch parent {
        case .materialRoot:
            throw MaterialFolder(rawValue: name) != nil ? FUSEError(EPERM) : FUSEError.notFound
        case .materialFolder(let folder):
            throw try await catalog.materialEntry(in: folder, named: name) != nil
                ? FUSEError.notDirectory : FUSEError.notFound
        default:
            throw FUSEError.notDirectory
        }
    }

    func mkdir(_ name: String, in parent: Node, permissions: UInt32, caller: Caller) async throws -> Entry {
        // The library has no folders.
        throw FUSEError(EPERM)
    }

    func rename(_ name: String, in parent: Node, to newName: String, in target: RenameTarget, flags: RenameFlags)
        async throws
    {
        guard case .materialFolder(let folder) = parent else {
            throw parent == .materialRoot ? FUSEError(EPERM) : FUSEError.notDirectory
        }
        guard Self.owner(ofSidecar: name, in: folder) == nil else { throw FUSEError.accessDenied }
        guard let entry = try await catalog.materialEntry(in: folder, named: name), let id = entry.id else {
            throw FUSEError.notFound
        }
        switch target {
        case .refused(let error):
            throw error
        case .folder(.materialFolder(let other)) where other == folder:
            break
        case .folder:
            // Another type is another library: a copy and a removal, each by its own rules.
            throw FUSEError.crossDevice
        }
        guard Self.owner(ofSidecar: newName, in: folder) == nil else { throw FUSEError.accessDenied }
        guard Self.sidecar(of: newName, in: folder).utf8.count <= 255 else { throw FUSEError.nameTooLong }
        guard newName != name else { return }
        let existing = try await catalog.materialEntry(in: folder, named: newName)
        if existing != nil, flags.contains(.noReplace) { throw FUSEError.exists }
        do {
            try await catalog.renameMaterial(id: id, to: newName, replacing: existing?.id)
            if let replaced = existing?.id { queue.forget(replaced) }
        } catch CatalogError.notThere {
            throw FUSEError.notFound
        } catch CatalogError.nameTaken {
            throw FUSEError.exists
        }
        for stale in [name, newName] {
            context.kernelCache.postInvalidateEntry(parent: parent.inode, name: Self.sidecar(of: stale, in: folder))
        }
    }

    // MARK: Attributes

    func setattr(_ node: Node, changes: AttributeChanges, caller: Caller) async throws
        -> (FileAttributes, timeout: Double)
    {
        switch node {
        case .materialRoot, .materialFolder:
            // rsync -a and cp -a set the folders' attributes and must not fail.
            guard changes.size == nil else { throw FUSEError.isDirectory }
            return try await attributes(of: node)
        case .material(let id):
            guard var entry = try await catalog.materialEntry(id: id) else { throw FUSEError.notFound }
            if let size = changes.size {
                let writers =
                    changes.handle.flatMap { handle -> [WriteHandle]? in
                        if case .write(let writer) = context.openFiles.file(handle) { [writer] } else { nil }
                    } ?? context.openFiles.writeHandles(of: node.inode)
                // A closed material changes only through a copy: open, write, close.
                guard !writers.isEmpty || Int64(size) == knownSize(of: entry) else { throw FUSEError(EPERM) }
                for writer in writers { try await writer.truncate(to: Int64(size)) }
            }
            entry.apply(changes, now: context.clock.now())
            // Only what setattr sets: an upload that commits meanwhile keeps its id and size.
            try await catalog.updateMaterialMetadata(entry)
            return currentAttributes(of: entry)
        default:
            throw FUSEError.accessDenied
        }
    }

    func wechatAttributes(of node: Node) async throws -> [String: String] {
        switch node {
        case .material(let id):
            // A queued file tells its queue state; its media id only once its current bytes are added.
            if let queued = queue.stateAttributes(of: id) { return queued }
            guard let entry = try await catalog.materialEntry(id: id), entry.state == .uploaded else { return [:] }
            return WeChatAttributes.material(mediaID: entry.mediaID, url: entry.url, updateTime: entry.updateTime)
        case .materialFolder(let folder):
            guard MaterialCaps.countedType(of: folder) != nil else { return [:] }
            if !caps.isKnown, let counts = try? await service.materialCounts() { caps.record(counts) }
            return WeChatAttributes.materialFolder(count: caps.count(of: folder), limit: caps.limit(of: folder))
        default:
            return [:]
        }
    }
}
