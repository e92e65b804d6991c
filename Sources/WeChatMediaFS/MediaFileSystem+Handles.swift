import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Open files: a handle owns what it reads from or writes to (`OpenFile`), whichever tree
/// opened it, so reading, writing and closing ask no tree. Uploads happen in `flush`, the
/// `close()` that `cp` checks.
extension MediaFileSystem {
    public func open(inode: Inode, flags: Int32, caller: Caller) async throws -> OpenedFile {
        let (node, tree) = try tree(of: inode, root: .isDirectory)
        return try await tree.open(node, flags: flags, caller: caller)
    }

    public func read(inode: Inode, handle: UInt64, offset: Int64, size: Int) async throws -> ReadData {
        guard let file = context.openFiles.file(handle) else { throw FUSEError.badHandle }
        // Replies from a file get a descriptor of their own, which FUSEKit closes after replying:
        // a release or a write that swaps the spool meanwhile cannot close it under the reply.
        switch file {
        case .write(let writer):
            let descriptor = try writer.descriptorForReply()
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
            await context.budget.pin(mediaID)
            let path: String
            do {
                path = try await context.downloads.path(
                    forBytesOf: mediaID, upTo: end, from: remote.source, expectedSize: total,
                    openedAt: remote.openedAt)
            } catch let error as APIError where error.kind == .notFound {
                await context.budget.unpin(mediaID)
                await context.serverForgot(mediaID)
                throw FUSEError.notFound
            } catch {
                await context.budget.unpin(mediaID)
                throw error as? FUSEError ?? FUSEError(ErrnoMapping.errno(for: error))
            }
            var descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 {
                // The partial file became whole (renamed) between the wait and the open.
                descriptor = Glibc.open(context.cache.contentPath(for: mediaID), O_RDONLY | O_CLOEXEC)
            }
            let code = errno
            await context.budget.unpin(mediaID)
            guard descriptor >= 0 else { throw FUSEError(code) }
            return .file(descriptor: descriptor, offset: offset, size: Int(end - offset), closeAfterReply: true)
        }
    }

    public func write(inode: Inode, handle: UInt64, offset: Int64, data: [UInt8]) async throws -> Int {
        let file = context.openFiles.file(handle)
        if case .ignoredWrites = file { return data.count }
        guard case .write(let writer) = file else { throw FUSEError.badHandle }
        let limit = writer.sizeLimit
        let (end, overflow) = offset.addingReportingOverflow(Int64(data.count))
        guard offset >= 0, !overflow, end <= limit else {
            if writer.refuseFurtherUploads(EFBIG), let path = await writer.delivery.displayPath(of: writer.entryID) {
                context.logger.error(
                    "write to \(path) refused (EFBIG): past the \(limit)-byte limit for \(writer.type.rawValue)")
            }
            throw FUSEError.tooBig
        }
        do {
            if context.settings.uploadMode == .background { try await keepFreeSpaceFloor(for: data.count) }
            return try await writer.write(data, at: offset)
        } catch {
            let code = ErrnoMapping.errno(for: error)
            guard code == ENOSPC || code == EDQUOT else { throw FUSEError(code) }
            // The file can never be whole: its close fails with ENOSPC, without a rules check of
            // what was spooled, and a new name goes away.
            if writer.refuseFurtherUploads(ENOSPC), let path = await writer.delivery.displayPath(of: writer.entryID) {
                context.reporter.report(
                    "write", of: path, error, errno: ENOSPC,
                    reason: "the cache dir's disk is full (\(context.cache.freeBytes()) bytes free)")
            }
            throw FUSEError(ENOSPC)
        }
    }

    /// A write within the limit to a spool whose turn is free, on libfuse's thread; anything
    /// else (a limit passed, a disk near its floor, a spool to copy first, an error) is left to
    /// `write`, which waits, reports and answers.
    public func writeAtOnce(inode: Inode, handle: UInt64, offset: Int64, data: UnsafeRawBufferPointer) -> Int? {
        switch context.openFiles.file(handle) {
        case .ignoredWrites: return data.count
        case .write(let writer):
            let (end, overflow) = offset.addingReportingOverflow(Int64(data.count))
            guard offset >= 0, !overflow, end <= writer.sizeLimit else { return nil }
            if context.settings.uploadMode == .background,
                context.cache.freeBytes() < context.settings.minimumFreeBytes.saturatingAdd(Int64(data.count))
            {
                return nil
            }
            return writer.writeAtOnce(data, at: offset)
        default: return nil
        }
    }

    public func flush(inode: Inode, handle: UInt64, caller: Caller) async throws {
        guard case .write(let writer) = context.openFiles.file(handle) else { return }
        // As mountpoint-s3 does: only the opener's close uploads, while the opener lives. Other
        // processes' closes come first (a child exits, a command in a group ends) and the file
        // is not whole yet; should the opener close first, the last release uploads the rest.
        if !writer.isOpener(caller), ProcessTable.isRunning(writer.opener) { return }
        try await writer.flush()
    }

    public func release(inode: Inode, handle: UInt64) async throws {
        guard let file = context.openFiles.remove(handle) else { return }
        switch file {
        case .write(let writer):
            await writer.release()
        case .cached(let cached):
            // The descriptor closes when the last read using it is done.
            await context.budget.unpin(cached.mediaID)
        case .remote(let remote):
            if let node = remote.sizeLearntBy { await material?.learnSize(of: node) }
        case .bytes, .ignoredWrites, .local:
            break
        }
    }

    /// In `background` mode queued files wait on the cache disk: a write that would take its
    /// free space below the floor first evicts cached media, then fails with ENOSPC (never a
    /// queued file lost later for want of room).
    private func keepFreeSpaceFloor(for count: Int) async throws {
        let floor = context.settings.minimumFreeBytes.saturatingAdd(Int64(count))
        guard context.cache.freeBytes() < floor else { return }
        await context.budget.evictIfNeeded(keepingFree: floor)
        guard context.cache.freeBytes() >= floor else { throw FUSEError(ENOSPC) }
    }

    /// In `background` mode (or for a file an earlier run queued), `fsync` (`sync FILE`, `dd
    /// conv=fsync`, `rsync --fsync`) queues what the handle wrote and waits for the upload,
    /// failing with its errno; in `sync` mode the close uploads, and fsync has nothing to do.
    public func fsync(inode: Inode, handle: UInt64) async throws {
        guard let node = Node(inode), let tree = tree(of: node) else { return }
        if context.settings.uploadMode == .background, case .write(let writer) = context.openFiles.file(handle) {
            try await writer.flush()
        }
        try await tree.fsync(node)
    }
}
