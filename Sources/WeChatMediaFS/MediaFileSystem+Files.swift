import FUSEKit
import Foundation
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Opening, reading and writing files; uploads happen in `flush`, the `close()` that `cp` checks.
extension MediaFileSystem {
    public func create(parent: Inode, name: String, permissions: UInt32, flags: Int32, caller: Caller) async throws -> (
        Entry, OpenedFile
    ) {
        if name.hasSuffix(sidecarSuffix), settings.sidecars == .off, let folder = try await catalogFolder(parent) {
            return try await createDiscardedSidecar(named: name, in: folder)
        }
        if name.hasSuffix(sidecarSuffix), let folder = try await catalogFolder(parent),
            let owner = try await owner(ofSidecarNamed: name, in: folder)
        {
            return createSidecar(of: owner)
        }
        let folder = try await uploadFolder(parent, forCreating: name)
        try Self.checkFileName(name)
        let now = clock.now()
        let (spoolPath, descriptor) = try spoolFile()
        let created: CatalogEntry
        do {
            // The kernel asks create only for a name it found missing: insert first, and look
            // the name up only when it turns out to be taken.
            created = try await insertTakingExpiredName(
                CatalogEntry(
                    folder: folder, name: name, state: .writing, mode: permissions, uid: caller.uid, gid: caller.gid,
                    accessTime: now, modificationTime: now, changeTime: now))
        } catch CatalogError.nameTaken {
            close(descriptor)
            Glibc.unlink(spoolPath)
            guard flags & O_EXCL == 0 else { throw FUSEError.exists }
            guard let existing = try await liveEntry(in: folder, named: name) else {
                // Held by a file another host is writing or has queued: POSIX allows EEXIST only
                // with O_EXCL, and this name cannot be opened here until that host closes it.
                throw catalog.isShared ? FUSEError(EBUSY) : FUSEError.exists
            }
            guard !existing.isDirectory else { throw FUSEError.isDirectory }
            let opened = try await open(inode: Node.entryInode(existing.id ?? 0), flags: flags, caller: caller)
            let (attributes, timeout) = await currentAttributes(of: existing)
            return (entry(attributes, timeout: timeout), opened)
        } catch {
            close(descriptor)
            Glibc.unlink(spoolPath)
            throw error
        }
        let handle = WriteHandle(
            entryID: created.id ?? 0, type: folder.type, openerThread: caller.pid,
            cache: cache,
            spool: SpoolFile(path: spoolPath, descriptor: descriptor), dirty: false, isNew: true)
        // Not cached: the name's size and bytes change when this handle's close uploads them.
        return (entry(attributes(of: created), timeout: 0), OpenedFile(handle: openFiles.register(.write(handle))))
    }

    public func open(inode: Inode, flags: Int32, caller: Caller) async throws -> OpenedFile {
        let writing = flags & O_ACCMODE != O_RDONLY
        switch Node(inode) {
        case .entry(let id):
            guard let entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            guard !entry.isDirectory else { throw FUSEError.isDirectory }
            if writing {
                let truncate = flags & O_TRUNC != 0
                let opened = try await openForWriting(entry, truncate: truncate, caller: caller)
                // open(O_TRUNC) changes the file: its times say so at once, as truncate(2)'s do.
                if truncate { try await touch(entry) }
                return opened
            }
            return OpenedFile(handle: openFiles.register(try await readSource(of: entry)))
        case .sidecar(let id):
            if settings.sidecars == .off { return OpenedFile(handle: openFiles.register(.ignoredWrites([]))) }
            guard let owner = try await liveEntry(id: id), let entry = try await uploadedOwner(owner) else {
                throw FUSEError.notFound
            }
            let content = sidecarContent(of: entry)
            return OpenedFile(handle: openFiles.register(writing ? .ignoredWrites(content) : .bytes(content)))
        case .byID(let number):
            guard !writing else { throw FUSEError.accessDenied }
            guard let mediaID = byIDInodes.mediaID(for: number), let media = try await liveKnownMedia(mediaID)
            else {
                throw FUSEError.notFound
            }
            // A media id's bytes never change, so the kernel may keep the pages it read across opens.
            if cache.hasContent(for: mediaID), let local = try? await openCached(mediaID) {
                return OpenedFile(handle: openFiles.register(local), keepCache: true)
            }
            // A size the server did not tell (videos) is learnt by reading to the end.
            let file = OpenFile.remote(
                RemoteContent(mediaID: mediaID, size: media.size, isVideo: media.type == .video))
            return OpenedFile(
                handle: openFiles.register(file), directIO: media.size == nil, keepCache: media.size != nil)
        case .root, .typeFolder, .byIDFolder:
            throw FUSEError.isDirectory
        case nil:
            throw FUSEError.notFound
        }
    }

    public func read(inode: Inode, handle: UInt64, offset: Int64, size: Int) async throws -> ReadData {
        guard let file = openFiles.file(handle) else { throw FUSEError.badHandle }
        // Replies from a file get a descriptor of their own, which FUSEKit closes after replying:
        // a release or a write that swaps the spool meanwhile cannot close it under the reply.
        switch file {
        case .write(let writer):
            let descriptor = try await writer.descriptorForReply()
            return .file(descriptor: descriptor, offset: offset, size: size, closeAfterReply: true)
        case .cached(let cached):
            return .file(descriptor: try cached.descriptorForReply(), offset: offset, size: size, closeAfterReply: true)
        case .local(let local):
            return .file(descriptor: try local.descriptorForReply(), offset: offset, size: size, closeAfterReply: true)
        case .bytes(let bytes), .ignoredWrites(let bytes):
            guard offset >= 0, offset < bytes.count else { return .bytes([]) }
            return .bytes(Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + size)]))
        case .remote(let remote):
            let (mediaID, total) = (remote.mediaID, remote.size)
            var end = offset.saturatingAdd(Int64(size))
            if let total { end = min(end, total) }
            guard end > offset || total == nil else { return .bytes([]) }
            // Pinned until opened: a download that completes can be evicted at once (a small cap).
            await budget.pin(mediaID)
            let path: String
            do {
                path = try await downloads.path(
                    forBytesOf: mediaID, upTo: end, isVideo: remote.isVideo, expectedSize: total,
                    openedAt: remote.openedAt)
            } catch let error as APIError where error.kind == .notFound {
                await budget.unpin(mediaID)
                await serverForgot(mediaID)
                throw FUSEError.notFound
            } catch {
                await budget.unpin(mediaID)
                throw error as? FUSEError ?? FUSEError(ErrnoMapping.errno(for: error))
            }
            var descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 {
                // The partial file became whole (renamed) between the wait and the open.
                descriptor = Glibc.open(cache.contentPath(for: mediaID), O_RDONLY | O_CLOEXEC)
            }
            let code = errno
            await budget.unpin(mediaID)
            guard descriptor >= 0 else { throw FUSEError(code) }
            return .file(descriptor: descriptor, offset: offset, size: Int(end - offset), closeAfterReply: true)
        }
    }

    public func write(inode: Inode, handle: UInt64, offset: Int64, data: [UInt8]) async throws -> Int {
        let file = openFiles.file(handle)
        if case .ignoredWrites = file { return data.count }
        guard case .write(let writer) = file else { throw FUSEError.badHandle }
        let limit = Int64(service.rules.profile.maxSize(for: writer.type))
        let (end, overflow) = offset.addingReportingOverflow(Int64(data.count))
        guard offset >= 0, !overflow, end <= limit else {
            if await writer.refuseFurtherUploads(EFBIG), let entry = try? await catalog.entry(id: writer.entryID) {
                let path = await catalog.displayPath(of: entry)
                logger.error(
                    "write to \(path) refused (EFBIG): past the \(limit)-byte limit for \(writer.type.rawValue)")
            }
            throw FUSEError.tooBig
        }
        do {
            if settings.uploadMode == .background { try await keepFreeSpaceFloor(for: data.count) }
            return try await writer.write(data, at: offset)
        } catch {
            let code = ErrnoMapping.errno(for: error)
            guard code == ENOSPC || code == EDQUOT else { throw FUSEError(code) }
            // The file can never be whole: its close fails with ENOSPC, without a rules check of
            // what was spooled, and a new name goes away.
            if await writer.refuseFurtherUploads(ENOSPC), let entry = try? await catalog.entry(id: writer.entryID) {
                reporter.report(
                    "write", of: await catalog.displayPath(of: entry), error, errno: ENOSPC,
                    reason: "the cache dir's disk is full (\(cache.freeBytes()) bytes free)")
            }
            throw FUSEError(ENOSPC)
        }
    }

    public func flush(inode: Inode, handle: UInt64, caller: Caller) async throws {
        guard case .write(let writer) = openFiles.file(handle) else { return }
        // As mountpoint-s3 does: only the opener's close uploads, while the opener lives. Other
        // processes' closes come first (a child exits, a command in a group ends) and the file
        // is not whole yet; should the opener close first, the last release uploads the rest.
        if !writer.isOpener(caller), ProcessTable.isRunning(writer.opener) { return }
        try await writer.flush(with: uploads)
    }

    public func release(inode: Inode, handle: UInt64) async throws {
        guard let file = openFiles.remove(handle) else { return }
        switch file {
        case .write(let writer):
            await writer.release(with: uploads)
        case .cached(let cached):
            // The descriptor closes when the last read using it is done.
            await budget.unpin(cached.mediaID)
        case .remote, .bytes, .ignoredWrites, .local:
            break
        }
    }

    /// In `background` mode (or for a file an earlier run queued), `fsync` (`sync FILE`, `dd
    /// conv=fsync`, `rsync --fsync`) queues what the handle wrote and waits for the upload,
    /// failing with its errno; in `sync` mode the close uploads, and fsync has nothing to do.
    public func fsync(inode: Inode, handle: UInt64) async throws {
        guard case .entry(let id) = Node(inode) else { return }
        if settings.uploadMode == .background, case .write(let writer) = openFiles.file(handle) {
            try await writer.flush(with: uploads)
        }
        try await waitForQueuedUpload(of: id)
    }

    public func setattr(inode: Inode, changes: AttributeChanges, caller: Caller) async throws -> (
        FileAttributes, timeout: Double
    ) {
        switch Node(inode) {
        case .entry(let id):
            guard var entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            if let size = changes.size, !entry.isDirectory {
                try await truncate(entry, to: size, handle: changes.handle, caller: caller)
                // A truncate by path uploaded: the other changes apply to the new upload.
                guard let truncated = try await liveEntry(id: id) else { throw FUSEError.notFound }
                entry = truncated
            }
            if let permissions = changes.permissions { entry.mode = permissions }
            if let uid = changes.uid { entry.uid = uid }
            if let gid = changes.gid { entry.gid = gid }
            if let time = changes.accessTime { entry.accessTime = time.nanoseconds }
            let now = clock.now()
            if let time = changes.modificationTime {
                entry.modificationTime = time.nanoseconds
            } else if changes.size != nil {
                // truncate(2) and ftruncate(2) change the file: its mtime says so (POSIX).
                entry.modificationTime = now
            }
            entry.changeTime = now
            try await catalog.update(entry)
            return await currentAttributes(of: entry)
        case .root, .typeFolder, .byIDFolder:
            // Fixed folders keep their attributes; rsync -a and cp -a set them and must not fail.
            guard changes.size == nil else { throw FUSEError.isDirectory }
            if case .typeFolder(let type) = Node(inode) {
                return (try await typeFolderAttributes(type), settings.cacheTimeout)
            }
            return (directoryAttributes(Node(inode) ?? .root), settings.cacheTimeout)
        case .sidecar(let id):
            // cp -a and rsync -a set the times and mode of the sidecars they copy: accepted, unchanged.
            if settings.sidecars == .off { return (try await discardedSidecarAttributes(id), 0) }
            guard let entry = try await liveEntry(id: id), entry.state == .uploaded else { throw FUSEError.notFound }
            return (sidecarAttributes(of: entry), 0)
        case .byID:
            throw FUSEError.accessDenied
        case nil:
            throw FUSEError.notFound
        }
    }

    // MARK: Pieces

    /// Names of at most 255 bytes (NAME_MAX), and for a file, a sidecar name of at most 255 too:
    /// `cp -r` out of the mount must be able to copy every name it lists.
    static func checkFileName(_ name: String) throws {
        guard name.utf8.count + sidecarSuffix.utf8.count <= 255 else { throw FUSEError.nameTooLong }
    }

    static func checkFolderName(_ name: String) throws {
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
    }

    /// The catalog folder that may hold a new `name` at `parent`, or the errno for creating it there.
    func uploadFolder(_ parent: Inode, forCreating name: String) async throws -> CatalogFolder {
        switch Node(parent) {
        case .root: throw FUSEError.readOnly
        case .byIDFolder, .sidecar, .byID: throw FUSEError.accessDenied
        case nil: throw FUSEError.notFound
        case .typeFolder, .entry: break
        }
        // A subfolder's known type is trusted, as for a lookup: the catalog refuses a create or
        // a move into a folder removed meanwhile (ENOENT), so no round trip checks it first.
        guard let folder = try await catalogFolderForLookup(parent) else { throw FUSEError.notDirectory }
        guard !name.hasSuffix(sidecarSuffix) else { throw FUSEError.accessDenied }
        return folder
    }

    private func openForWriting(_ entry: CatalogEntry, truncate: Bool, caller: Caller) async throws -> OpenedFile {
        var source: Int32?
        if !truncate, let queued = uploadQueue.item(entry.id ?? 0) {
            // Queued bytes are the file's newest: a rewrite starts from them.
            let descriptor = Glibc.open(queued.path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FUSEError.io }
            source = descriptor
        } else if !truncate, entry.state == .uploaded, let mediaID = entry.mediaID {
            // Rewriting part of an upload starts from its bytes (downloaded if not cached).
            let path = try await downloads.path(
                forBytesOf: mediaID, upTo: .max, isVideo: entry.type == .video, expectedSize: entry.size, openedAt: .now
            )
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FUSEError.io }
            source = descriptor
        }
        defer { if let source { close(source) } }
        let (spoolPath, descriptor) = try spoolFile(copyingFrom: source)
        let handle = WriteHandle(
            entryID: entry.id ?? 0, type: entry.type, openerThread: caller.pid, cache: cache,
            spool: SpoolFile(path: spoolPath, descriptor: descriptor),
            dirty: truncate && (entry.state == .uploaded || entry.state == .queued), isNew: false)
        return OpenedFile(handle: openFiles.register(.write(handle)))
    }

    /// Sets a file's modification and change times to now.
    private func touch(_ entry: CatalogEntry) async throws {
        guard var fresh = try await liveEntry(id: entry.id ?? 0) else { return }
        let now = clock.now()
        fresh.modificationTime = now
        fresh.changeTime = now
        try await catalog.update(fresh)
    }

    private func readSource(of entry: CatalogEntry) async throws -> OpenFile {
        if let queued = uploadQueue.item(entry.id ?? 0) {
            // Not on the server yet (or its upload failed): its local bytes.
            let descriptor = Glibc.open(queued.path, O_RDONLY | O_CLOEXEC)
            if descriptor >= 0 { return .local(LocalFileHandle(descriptor: descriptor)) }
        }
        if entry.state == .queued, let holder = try await catalog.queueHolder(of: entry.id ?? 0) {
            // Queued by another host that stopped: its bytes are in that host's cache dir only.
            let path = await catalog.displayPath(of: entry)
            logger.error(
                "read of \(path) refused (EIO): its bytes are queued on host \(holder.host), which is not running; 'wxmediafs release-queue' gives its names up"
            )
            throw FUSEError.io
        }
        guard entry.state == .uploaded, let mediaID = entry.mediaID else { return .bytes([]) }
        if let local = try? await openCached(mediaID) { return local }
        return .remote(RemoteContent(mediaID: mediaID, size: entry.size, isVideo: entry.type == .video))
    }

    /// In `background` mode queued files wait on the cache disk: a write that would take its
    /// free space below the floor first evicts cached media, then fails with ENOSPC (never a
    /// queued file lost later for want of room).
    private func keepFreeSpaceFloor(for count: Int) async throws {
        let floor = settings.minimumFreeBytes.saturatingAdd(Int64(count))
        guard cache.freeBytes() < floor else { return }
        await budget.evictIfNeeded(keepingFree: floor)
        guard cache.freeBytes() >= floor else { throw FUSEError(ENOSPC) }
    }

    /// A new spool file; a disk that is full or refuses answers with its errno (ENOSPC, EROFS).
    private func spoolFile(copyingFrom source: Int32? = nil) throws -> (path: String, descriptor: Int32) {
        do {
            return try cache.openSpoolFile(copyingFrom: source)
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
    }

    /// The cached bytes of `mediaID`, opened and pinned against eviction until released.
    private func openCached(_ mediaID: String) async throws -> OpenFile {
        await budget.pin(mediaID)
        let descriptor = Glibc.open(cache.contentPath(for: mediaID), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            await budget.unpin(mediaID)
            throw FUSEError(code)
        }
        return .cached(CachedContentHandle(mediaID: mediaID, descriptor: descriptor))
    }

    private func truncate(_ entry: CatalogEntry, to size: UInt64, handle: UInt64?, caller: Caller) async throws {
        let limit = service.rules.profile.maxSize(for: entry.type)
        guard size <= UInt64(limit) else { throw FUSEError.tooBig }
        if let handle, case .write(let writer) = openFiles.file(handle) {
            return try await writer.truncate(to: Int64(size))
        }
        // truncate(2) by path while the file is open for writing: change what is being written.
        let writers = openFiles.writeHandles(of: entry.id ?? 0)
        if !writers.isEmpty {
            for writer in writers { try await writer.truncate(to: Int64(size)) }
            return
        }
        // truncate(2) by path of a closed file: what ftruncate on a descriptor does, whole
        // (open without O_TRUNC, truncate, close: the new bytes are uploaded).
        if Int64(size) == (queuedSize(of: entry) ?? entry.size) || (entry.state == .placeholder && size == 0) { return }
        let opened = try await openForWriting(entry, truncate: false, caller: caller)
        guard case .write(let writer) = openFiles.file(opened.handle) else { throw FUSEError.io }
        do {
            try await writer.truncate(to: Int64(size))
            try await writer.flush(with: uploads)
        } catch {
            try? await release(inode: Node.entryInode(entry.id ?? 0), handle: opened.handle)
            throw error
        }
        try await release(inode: Node.entryInode(entry.id ?? 0), handle: opened.handle)
    }
}
