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
        let type = try await uploadFolder(parent, forCreating: name)
        let now = timespec.now.nanoseconds
        let (spool, descriptor) = try cache.openSpoolFile()
        let created: CatalogEntry
        do {
            // The kernel asks create only for a name it found missing: insert first, and look
            // the name up only when it turns out to be taken.
            created = try await catalog.insert(
                CatalogEntry(
                    parent: parent, name: name, type: type, state: .writing, mode: permissions, uid: caller.uid,
                    gid: caller.gid, accessTime: now, modificationTime: now, changeTime: now))
        } catch MediaCatalogDatabase.Failure.nameTaken {
            close(descriptor)
            Glibc.unlink(spool)
            guard let existing = try await liveEntry(parent: parent, name: name), flags & O_EXCL == 0 else {
                throw FUSEError.exists
            }
            guard !existing.isDirectory else { throw FUSEError.isDirectory }
            return (
                entry(attributes(of: existing)),
                try await open(inode: Node.entryInode(existing.id ?? 0), flags: flags, caller: caller)
            )
        }
        let session = WriteSession(
            entryID: created.id ?? 0, type: type, spoolPath: spool, descriptor: descriptor, dirty: false, isNew: true)
        let handle = await openFiles.register(.write(session))
        return (entry(attributes(of: created)), OpenedFile(handle: handle))
    }

    public func open(inode: Inode, flags: Int32, caller: Caller) async throws -> OpenedFile {
        let writing = flags & O_ACCMODE != O_RDONLY
        switch Node(inode) {
        case .entry(let id):
            guard let entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            guard !entry.isDirectory else { throw FUSEError.isDirectory }
            if writing { return try await openForWriting(entry, truncate: flags & O_TRUNC != 0) }
            return OpenedFile(handle: await openFiles.register(try await readSource(of: entry)))
        case .sidecar(let id):
            guard !writing else { throw FUSEError.accessDenied }
            guard let entry = try await liveEntry(id: id), entry.state == .uploaded else { throw FUSEError.notFound }
            return OpenedFile(handle: await openFiles.register(.bytes(sidecarContent(of: entry))))
        case .byID(let number):
            guard !writing else { throw FUSEError.accessDenied }
            guard let mediaID = await byIDInodes.mediaID(for: number), let media = try await liveKnownMedia(mediaID)
            else {
                throw FUSEError.notFound
            }
            // A media id's bytes never change, so the kernel may keep the pages it read across opens.
            if cache.hasContent(for: mediaID), let local = try? await openLocal(mediaID) {
                return OpenedFile(handle: await openFiles.register(local), keepCache: true)
            }
            // A size the server did not tell (videos) is learnt by reading to the end.
            let file = OpenFile.remote(mediaID: mediaID, size: media.size, isVideo: media.type == .video)
            return OpenedFile(
                handle: await openFiles.register(file), directIO: media.size == nil, keepCache: media.size != nil)
        case .root, .typeFolder, .byIDFolder:
            throw FUSEError.isDirectory
        case nil:
            throw FUSEError.notFound
        }
    }

    public func read(inode: Inode, handle: UInt64, offset: Int64, size: Int) async throws -> ReadData {
        guard let file = await openFiles.file(handle) else { throw FUSEError.badHandle }
        switch file {
        case .write(let session):
            return .file(descriptor: session.descriptor, offset: offset, size: size, closeAfterReply: false)
        case .local(let descriptor, _):
            return .file(descriptor: descriptor, offset: offset, size: size, closeAfterReply: false)
        case .bytes(let bytes):
            guard offset < bytes.count else { return .bytes([]) }
            return .bytes(Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + size)]))
        case .remote(let mediaID, let total, let isVideo):
            var end = offset + Int64(size)
            if let total { end = min(end, total) }
            guard end > offset || total == nil else { return .bytes([]) }
            let path: String
            do {
                path = try await downloads.path(forBytesOf: mediaID, upTo: end, isVideo: isVideo, expectedSize: total)
            } catch let error as APIError where error.kind == .notFound {
                await serverForgot(mediaID)
                throw FUSEError.notFound
            } catch let error as FUSEError {
                throw error
            } catch {
                throw FUSEError(ErrnoMapping.errno(for: error))
            }
            var descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 {
                // The partial file became whole (renamed) between the wait and the open.
                descriptor = Glibc.open(cache.contentPath(for: mediaID), O_RDONLY | O_CLOEXEC)
            }
            guard descriptor >= 0 else { throw FUSEError(errno) }
            return .file(descriptor: descriptor, offset: offset, size: Int(end - offset), closeAfterReply: true)
        }
    }

    public func write(inode: Inode, handle: UInt64, offset: Int64, data: [UInt8]) async throws -> Int {
        var session = try await writableSession(handle)
        let limit = client.rules.profile.maxSize(for: session.type)
        guard offset + Int64(data.count) <= Int64(limit) else {
            if session.failure == nil, let entry = try? await catalog.entry(id: session.entryID) {
                let path = await displayPath(of: entry)
                logger.error(
                    "write to \(path) refused (EFBIG): past the \(limit)-byte limit for \(session.type.rawValue)")
            }
            session.failure = EFBIG
            await openFiles.replace(handle, with: .write(session))
            throw FUSEError.tooBig
        }
        let written = data.withUnsafeBytes { Glibc.pwrite(session.descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == data.count else { throw FUSEError(written < 0 ? errno : EIO) }
        if !session.dirty {
            session.dirty = true
            await openFiles.replace(handle, with: .write(session))
        }
        return written
    }

    public func flush(inode: Inode, handle: UInt64) async throws {
        guard case .write(var session) = await openFiles.file(handle) else { return }
        if let failure = session.failure {
            try await abandon(session)
            throw FUSEError(failure)
        }
        guard session.dirty else {
            try await settleUnwritten(session)
            return
        }
        session.dirty = false
        await openFiles.replace(handle, with: .write(session))
        try await upload(session, handle: handle)
    }

    public func release(inode: Inode, handle: UInt64) async throws {
        guard let file = await openFiles.remove(handle) else { return }
        switch file {
        case .write(let session):
            close(session.descriptor)
            // A spool that became cached content is the cache's now, and its entry is uploaded.
            guard !session.sharesCachedContent else { break }
            Glibc.unlink(session.spoolPath)
            try? await settleUnwritten(session)
        case .local(let descriptor, let mediaID):
            close(descriptor)
            await budget.unpin(mediaID)
        case .remote, .bytes:
            break
        }
    }

    public func fsync(inode: Inode, handle: UInt64) async throws {}

    public func setattr(inode: Inode, changes: AttributeChanges, caller: Caller) async throws -> (
        FileAttributes, timeout: Double
    ) {
        switch Node(inode) {
        case .entry(let id):
            guard var entry = try await liveEntry(id: id) else { throw FUSEError.notFound }
            if let size = changes.size, !entry.isDirectory {
                try await truncate(&entry, to: size, handle: changes.handle)
            }
            if let permissions = changes.permissions { entry.mode = permissions }
            if let uid = changes.uid { entry.uid = uid }
            if let gid = changes.gid { entry.gid = gid }
            if let time = changes.accessTime { entry.accessTime = time.nanoseconds }
            if let time = changes.modificationTime { entry.modificationTime = time.nanoseconds }
            entry.changeTime = timespec.now.nanoseconds
            try await catalog.update(entry)
            return (attributes(of: entry), expiryBoundedTimeout(bornAt: entry.createdAt))
        case .root, .typeFolder, .byIDFolder:
            // Fixed folders keep their attributes; rsync -a and cp -a set them and must not fail.
            guard changes.size == nil else { throw FUSEError.isDirectory }
            return (directoryAttributes(Node(inode) ?? .root), settings.cacheTimeout)
        case .sidecar, .byID:
            throw FUSEError.accessDenied
        case nil:
            throw FUSEError.notFound
        }
    }

    // MARK: Pieces

    /// The type of an upload folder that may hold `name`, or the errno for creating it there.
    func uploadFolder(_ parent: Inode, forCreating name: String) async throws -> MediaType {
        switch Node(parent) {
        case .root: throw FUSEError.readOnly
        case .byIDFolder, .sidecar, .byID: throw FUSEError.accessDenied
        case nil: throw FUSEError.notFound
        case .typeFolder, .entry: break
        }
        guard let type = try await folder(parent) else { throw FUSEError.notDirectory }
        guard !name.hasSuffix(sidecarSuffix) else { throw FUSEError.accessDenied }
        return type
    }

    private func openForWriting(_ entry: CatalogEntry, truncate: Bool) async throws -> OpenedFile {
        var source: Int32?
        if !truncate, entry.state == .uploaded, let mediaID = entry.mediaID {
            // Rewriting part of an upload starts from its bytes (downloaded if not cached).
            let path = try await downloads.path(
                forBytesOf: mediaID, upTo: .max, isVideo: entry.type == .video, expectedSize: entry.size)
            let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FUSEError.io }
            source = descriptor
        }
        defer { if let source { close(source) } }
        let (spool, descriptor) = try cache.openSpoolFile(copyingFrom: source)
        let session = WriteSession(
            entryID: entry.id ?? 0, type: entry.type, spoolPath: spool, descriptor: descriptor,
            dirty: truncate && entry.state == .uploaded, isNew: false)
        return OpenedFile(handle: await openFiles.register(.write(session)))
    }

    private func readSource(of entry: CatalogEntry) async throws -> OpenFile {
        guard entry.state == .uploaded, let mediaID = entry.mediaID else { return .bytes([]) }
        if let local = try? await openLocal(mediaID) { return local }
        return .remote(mediaID: mediaID, size: entry.size, isVideo: entry.type == .video)
    }

    /// The cached bytes of `mediaID`, opened and pinned against eviction until released.
    private func openLocal(_ mediaID: String) async throws -> OpenFile {
        await budget.pin(mediaID)
        let descriptor = Glibc.open(cache.contentPath(for: mediaID), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            await budget.unpin(mediaID)
            throw FUSEError(code)
        }
        return .local(descriptor: descriptor, mediaID: mediaID)
    }

    /// Uploads a session's spool; on success the entry points to the new media id, on failure
    /// a new entry is removed and an overwritten one keeps its previous upload.
    private func upload(_ session: WriteSession, handle: UInt64) async throws {
        guard var entry = try await catalog.entry(id: session.entryID) else { throw FUSEError.notFound }
        let path = await displayPath(of: entry)
        var info = stat()
        guard fstat(session.descriptor, &info) == 0 else { throw FUSEError.io }
        if info.st_size == 0 {
            // Closed empty: a placeholder, listed but never uploaded.
            entry.state = .placeholder
            entry.mediaID = nil
            entry.size = 0
            entry.createdAt = nil
            try await catalog.update(entry)
            return
        }
        await openFiles.uploadStarted()
        defer { Task { await self.openFiles.uploadFinished() } }
        let started = ContinuousClock.now
        let activity = self.activity
        let transfer = activity.begin(.upload, name: path, total: Int64(info.st_size))
        defer { activity.end(transfer) }
        let uploaded: UploadedMedia
        do {
            uploaded = try await client.upload(fileAt: session.spoolPath, as: session.type) { sent in
                activity.progress(transfer, bytesDone: sent)
            }
        } catch {
            let code = ErrnoMapping.errno(for: error)
            logger.error(
                "upload of \(path) failed (\(ErrnoMapping.name(of: code))): \(ErrnoMapping.explanation(for: error))")
            activity.failed("upload", name: path, errno: code, error: error)
            if session.isNew, entry.state == .writing {
                try? await catalog.delete(id: session.entryID)
                await forgetCachedName(parent: entry.parent, name: entry.name)
            }
            throw FUSEError(code)
        }
        // Keep the uploaded bytes as the cached content (a rename); the handle goes on reading
        // them, and a later write on it first copies them to a new spool.
        var uploadedSession = session
        uploadedSession.isNew = false
        if (try? cache.adopt(spoolPath: session.spoolPath, as: uploaded.mediaID)) != nil {
            uploadedSession.sharesCachedContent = true
            await budget.added(uploaded.mediaID, size: uploaded.size)
        }
        await openFiles.replace(handle, with: .write(uploadedSession))
        entry.state = .uploaded
        entry.mediaID = uploaded.mediaID
        entry.format = uploaded.format
        entry.size = uploaded.size
        entry.createdAt = uploaded.createdAt
        entry.changeTime = timespec.now.nanoseconds
        try await catalog.update(
            entry,
            recording: KnownMedia(
                mediaID: uploaded.mediaID, type: uploaded.type, size: uploaded.size,
                contentType: uploaded.format.contentType, createdAt: uploaded.createdAt, firstSeen: Self.now))
        let elapsed = started.duration(to: .now).components
        let milliseconds = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        logger.info(
            "uploaded \(path): \(uploaded.type.rawValue), \(uploaded.size) bytes, media_id \(uploaded.mediaID), \(milliseconds) ms"
        )
    }

    /// The session of `handle` ready to change its bytes: if an upload made its spool the cached
    /// content, that content is copied to a new spool first (cached media never change).
    func writableSession(_ handle: UInt64) async throws -> WriteSession {
        guard case .write(var session) = await openFiles.file(handle) else { throw FUSEError.badHandle }
        guard session.sharesCachedContent else { return session }
        let (spool, descriptor) = try cache.openSpoolFile(copyingFrom: session.descriptor)
        close(session.descriptor)
        session.spoolPath = spool
        session.descriptor = descriptor
        session.sharesCachedContent = false
        await openFiles.replace(handle, with: .write(session))
        return session
    }

    /// A write that failed for good: a new name goes away, an overwritten file keeps its upload.
    private func abandon(_ session: WriteSession) async throws {
        guard session.isNew, let entry = try await catalog.entry(id: session.entryID), entry.state == .writing else {
            return
        }
        try await catalog.delete(id: session.entryID)
        await forgetCachedName(parent: entry.parent, name: entry.name)
    }

    /// A file closed without new bytes: one still `writing` becomes a placeholder.
    private func settleUnwritten(_ session: WriteSession) async throws {
        if session.failure != nil { return try await abandon(session) }
        guard var entry = try await catalog.entry(id: session.entryID), entry.state == .writing else { return }
        entry.state = .placeholder
        try await catalog.update(entry)
    }

    private func truncate(_ entry: inout CatalogEntry, to size: UInt64, handle: UInt64?) async throws {
        let limit = client.rules.profile.maxSize(for: entry.type)
        guard size <= UInt64(limit) else { throw FUSEError.tooBig }
        if let handle, case .write = await openFiles.file(handle) {
            var session = try await writableSession(handle)
            guard ftruncate(session.descriptor, off_t(size)) == 0 else { throw FUSEError(errno) }
            if !session.dirty {
                session.dirty = true
                await openFiles.replace(handle, with: .write(session))
            }
            return
        }
        // truncate(2) by path while the file is open for writing: change what is being written.
        let sessions = await openFiles.writeSessions(of: entry.id ?? 0)
        if !sessions.isEmpty {
            for (handle, _) in sessions {
                var session = try await writableSession(handle)
                guard ftruncate(session.descriptor, off_t(size)) == 0 else { throw FUSEError(errno) }
                session.dirty = true
                await openFiles.replace(handle, with: .write(session))
            }
            return
        }
        // Otherwise only no-op truncations are possible: the bytes live on the server.
        if Int64(size) == entry.size || (entry.state != .uploaded && size == 0) { return }
        throw FUSEError.notPermitted
    }
}
