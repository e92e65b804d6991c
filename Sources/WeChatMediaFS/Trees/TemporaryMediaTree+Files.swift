import FUSEKit
import Foundation
import LocalByteStore
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Creating and opening files, and what changes their attributes; the bytes written go through
/// the handle, and are uploaded in `flush`, the `close()` that `cp` checks.
extension TemporaryMediaTree {
    func create(_ name: String, in parent: Node, permissions: UInt32, flags: Int32, caller: Caller) async throws
        -> (Entry, OpenedFile)
    {
        if let sidecar = SidecarName(name), let folder = try await catalogFolder(parent),
            let created = try await createSidecar(sidecar, in: folder)
        {
            return created
        }
        let folder = try await uploadFolder(parent, forCreating: name)
        try Self.checkFileName(name)
        let now = context.clock.now()
        let spool = try context.newSpoolFile()
        let created: CatalogEntry
        do {
            // The kernel asks create only for a name it found missing: insert first, and look
            // the name up only when it turns out to be taken.
            created = try await insertTakingExpiredName(
                CatalogEntry(
                    folder: folder, name: name, state: .writing, mode: permissions, uid: caller.uid, gid: caller.gid,
                    accessTime: now, modificationTime: now, changeTime: now))
        } catch CatalogError.nameTaken {
            spool.discard()
            guard flags & O_EXCL == 0 else { throw FUSEError.exists }
            guard let existing = try await expiry.entry(in: folder, named: name) else {
                // Held by a file another host is writing or has queued: POSIX allows EEXIST only
                // with O_EXCL, and this name cannot be opened here until that host closes it.
                throw catalog.isShared ? FUSEError(EBUSY) : FUSEError.exists
            }
            guard !existing.isDirectory else { throw FUSEError.isDirectory }
            let opened = try await open(.entry(existing.id ?? 0), flags: flags, caller: caller)
            let (attributes, timeout) = await currentAttributes(of: existing)
            return (context.entry(attributes, timeout: timeout), opened)
        } catch {
            spool.discard()
            throw error
        }
        let handle = WriteHandle(
            entryID: created.id ?? 0, inode: Node.entryInode(created.id ?? 0), type: folder.type,
            sizeLimit: sizeLimit(of: folder.type), delivery: uploads, openerThread: caller.pid, cache: context.cache,
            spool: spool, dirty: false, isNew: true)
        return (
            context.createdEntry(attributes(of: created), flags: flags),
            OpenedFile(handle: context.openFiles.register(.write(handle)))
        )
    }

    func open(_ node: Node, flags: Int32, caller: Caller) async throws -> OpenedFile {
        let writing = flags & O_ACCMODE != O_RDONLY
        switch node {
        case .entry(let id):
            guard let entry = try await expiry.entry(id: id) else { throw FUSEError.notFound }
            guard !entry.isDirectory else { throw FUSEError.isDirectory }
            if writing {
                let truncate = flags & O_TRUNC != 0
                let opened = try await openForWriting(entry, truncate: truncate, caller: caller)
                // open(O_TRUNC) changes the file: its times say so at once, as truncate(2)'s do.
                if truncate { try await touch(entry) }
                return opened
            }
            return OpenedFile(handle: context.openFiles.register(try await readSource(of: entry)))
        case .sidecar(let id):
            return try await openSidecar(ownerID: id, writing: writing)
        default:
            throw FUSEError.isDirectory
        }
    }

    /// In `background` mode (or for a file an earlier run queued), `fsync` (`sync FILE`, `dd
    /// conv=fsync`, `rsync --fsync`) queues what the handle wrote and waits for the upload,
    /// failing with its errno; in `sync` mode the close uploads, and fsync has nothing to do.
    func fsync(_ node: Node) async throws {
        guard case .entry(let id) = node else { return }
        try await waitForQueuedUpload(of: id)
    }

    func setattr(_ node: Node, changes: AttributeChanges, caller: Caller) async throws
        -> (FileAttributes, timeout: Double)
    {
        switch node {
        case .entry(let id):
            guard var entry = try await expiry.entry(id: id) else { throw FUSEError.notFound }
            if let size = changes.size, !entry.isDirectory {
                try await truncate(entry, to: size, handle: changes.handle, caller: caller)
                // A truncate by path uploaded: the other changes apply to the new upload.
                guard let truncated = try await expiry.entry(id: id) else { throw FUSEError.notFound }
                entry = truncated
            }
            entry.apply(changes, now: context.clock.now())
            // Only what setattr sets: the upload a truncate queued may commit meanwhile.
            try await catalog.updateMetadata(entry)
            return await currentAttributes(of: entry)
        case .typeFolder(let type):
            // Upload folders keep their attributes; rsync -a and cp -a set them and must not fail.
            guard changes.size == nil else { throw FUSEError.isDirectory }
            return (try await typeFolderAttributes(type), settings.cacheTimeout)
        case .sidecar(let id):
            return try await setattrSidecar(ownerID: id)
        default:
            throw FUSEError.notFound
        }
    }

    // MARK: Pieces

    /// Names of at most 255 bytes (NAME_MAX), and for a file, a sidecar name of at most 255 too:
    /// `cp -r` out of the mount must be able to copy every name it lists.
    static func checkFileName(_ name: String) throws {
        guard name.utf8.count + SidecarName.suffix.utf8.count <= 255 else { throw FUSEError.nameTooLong }
    }

    static func checkFolderName(_ name: String) throws {
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
    }

    /// The catalog folder that may hold a new `name` at `parent`, or the errno for creating it there.
    func uploadFolder(_ parent: Node, forCreating name: String) async throws -> CatalogFolder {
        if case .sidecar = parent { throw FUSEError.accessDenied }
        // A subfolder's known type is trusted, as for a lookup: the catalog refuses a create or
        // a move into a folder removed meanwhile (ENOENT), so no round trip checks it first.
        guard let folder = try await catalogFolderForLookup(parent) else { throw FUSEError.notDirectory }
        guard SidecarName(name) == nil else { throw FUSEError.accessDenied }
        return folder
    }

    private func openForWriting(_ entry: CatalogEntry, truncate: Bool, caller: Caller) async throws -> OpenedFile {
        // Queued bytes are the file's newest: a rewrite starts from them.
        var source = truncate ? nil : try openQueuedBytes(of: entry.id ?? 0)
        if source == nil, !truncate, entry.state == .uploaded, let mediaID = entry.mediaID {
            // Rewriting part of an upload starts from its bytes (downloaded if not cached).
            source = try await context.openWholeContent(
                mediaID, from: .temporary(isVideo: entry.type == .video), expectedSize: entry.size)
        }
        defer { if let source { close(source) } }
        let spool = try context.newSpoolFile(copyingFrom: source)
        let handle = WriteHandle(
            entryID: entry.id ?? 0, inode: Node.entryInode(entry.id ?? 0), type: entry.type,
            sizeLimit: sizeLimit(of: entry.type), delivery: uploads, openerThread: caller.pid, cache: context.cache,
            spool: spool,
            dirty: truncate && (entry.state == .uploaded || entry.state == .queued), isNew: false)
        return OpenedFile(handle: context.openFiles.register(.write(handle)))
    }

    /// Sets a file's modification and change times to now.
    private func touch(_ entry: CatalogEntry) async throws {
        guard var fresh = try await expiry.entry(id: entry.id ?? 0) else { return }
        let now = context.clock.now()
        fresh.modificationTime = now
        fresh.changeTime = now
        try await catalog.updateMetadata(fresh)
    }

    private func readSource(of entry: CatalogEntry) async throws -> OpenFile {
        if let descriptor = try? openQueuedBytes(of: entry.id ?? 0) {
            // Not on the server yet (or its upload failed): its local bytes.
            return .local(LocalFileHandle(descriptor: descriptor))
        }
        if entry.state == .queued, let holder = try await catalog.queueHolder(of: entry.id ?? 0) {
            // Queued by another host that stopped: its bytes are in that host's cache dir only.
            let path = await catalog.displayPath(of: entry)
            context.logger.error(
                "read of \(path) refused (EIO): its bytes are queued on host \(holder.host), which is not running; 'wxmediafs release-queue' gives its names up"
            )
            throw FUSEError.io
        }
        guard entry.state == .uploaded, let mediaID = entry.mediaID else { return .bytes([]) }
        if let local = try? await context.openCached(mediaID) { return local }
        return .remote(
            RemoteContent(mediaID: mediaID, size: entry.size, source: .temporary(isVideo: entry.type == .video)))
    }

    /// The most a file of `type` may hold here (the mount's limits profile).
    private func sizeLimit(of type: MediaType) -> Int64 {
        Int64(context.service.rules.profile.maxSize(for: type))
    }

    private func truncate(_ entry: CatalogEntry, to size: UInt64, handle: UInt64?, caller: Caller) async throws {
        let limit = context.service.rules.profile.maxSize(for: entry.type)
        guard size <= UInt64(limit) else { throw FUSEError.tooBig }
        if let handle, case .write(let writer) = context.openFiles.file(handle) {
            return try await writer.truncate(to: Int64(size))
        }
        // truncate(2) by path while the file is open for writing: change what is being written.
        let writers = context.openFiles.writeHandles(of: Node.entryInode(entry.id ?? 0))
        if !writers.isEmpty {
            for writer in writers { try await writer.truncate(to: Int64(size)) }
            return
        }
        // truncate(2) by path of a closed file: what ftruncate on a descriptor does, whole
        // (open without O_TRUNC, truncate, close: the new bytes are uploaded).
        if Int64(size) == (queuedSize(of: entry) ?? entry.size) || (entry.state == .placeholder && size == 0) { return }
        let opened = try await openForWriting(entry, truncate: false, caller: caller)
        guard case .write(let writer) = context.openFiles.file(opened.handle) else { throw FUSEError.io }
        // Registered until released, so that a stat meanwhile sees the size being written.
        defer { _ = context.openFiles.remove(opened.handle) }
        do {
            try await writer.truncate(to: Int64(size))
            try await writer.flush()
        } catch {
            await writer.release()
            throw error
        }
        await writer.release()
    }
}
