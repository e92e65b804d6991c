import FUSEKit
import LocalByteStore
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// A file open for writing: its bytes go to a spool file until `flush` uploads or queues them.
///
/// The handle alone owns its state, and every operation that changes it runs in its turn
/// (`ExclusiveAccess`), whole: a write that arrives while a flush uploads (a `dup`ed descriptor
/// closed in another thread) waits for that upload, then lands in the spool and marks it dirty,
/// so the last close uploads it. Nothing is lost between a copy and a write-back, and the spool
/// never changes under an upload or after it became cached content.
actor WriteHandle {
    nonisolated let entryID: Int64
    nonisolated let type: MediaType
    /// The process that opened it, and the thread FUSE named: its `close()` uploads; a flush from
    /// another process (a child that inherited the descriptor, a `{ head; tail; } > file` group)
    /// is not the end yet.
    nonisolated let opener: Int32
    nonisolated let openerThread: Int32
    private let cache: ContentCache
    private var spool: SpoolFile
    /// Bytes changed since the last upload (a truncation counts).
    private var dirty: Bool
    /// Created by this open: a failed first upload removes the name again.
    private var isNew: Bool
    /// A write already failed for good (EFBIG): the bytes are incomplete and are never uploaded.
    private var failure: Int32?
    /// The spool file was handed off (an upload adopted it as the media's cached content, or
    /// the background queue took it): the descriptor reads it, and must not write it; a write
    /// first copies it to a new spool.
    private var sharesCachedContent = false
    private var released = false
    private let turns = ExclusiveAccess()

    init(
        entryID: Int64, type: MediaType, openerThread: Int32, cache: ContentCache, spool: SpoolFile, dirty: Bool,
        isNew: Bool
    ) {
        self.entryID = entryID
        self.type = type
        self.openerThread = openerThread
        self.opener = ProcessTable.process(ofThread: openerThread)
        self.cache = cache
        self.spool = spool
        self.dirty = dirty
        self.isNew = isNew
    }

    /// Runs `body` in this handle's turn.
    private func inTurn<T>(_ body: () async throws -> T) async throws -> T {
        await turns.acquire()
        defer { turns.release() }
        guard !released else { throw FUSEError.badHandle }
        return try await body()
    }

    func write(_ data: [UInt8], at offset: Int64) async throws -> Int {
        try await inTurn {
            try ensureOwnSpool()
            let written = data.withUnsafeBytes { pwrite(spool.descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            // A short write to a regular file is a full disk.
            guard written == data.count else { throw FUSEError(written < 0 ? errno : ENOSPC) }
            dirty = true
            return written
        }
    }

    func truncate(to size: Int64) async throws {
        try await inTurn {
            try ensureOwnSpool()
            guard ftruncate(spool.descriptor, off_t(size)) == 0 else { throw FUSEError(errno) }
            dirty = true
        }
    }

    /// Remembers that a write failed for good; true the first time (so it is logged once).
    func refuseFurtherUploads(_ code: Int32) -> Bool {
        defer { failure = failure ?? code }
        return failure == nil
    }

    /// How many bytes the file has now.
    func spoolSize() -> Int64? {
        var info = stat()
        guard fstat(spool.descriptor, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// A descriptor of the spool of its own, for one read reply (closed by FUSEKit after it).
    func descriptorForReply() throws -> Int32 {
        let copy = dup(spool.descriptor)
        guard copy >= 0 else { throw FUSEError(errno) }
        return copy
    }

    /// Whether a flush by `caller` is the opener's: by thread at no cost, else by process.
    nonisolated func isOpener(_ caller: Caller) -> Bool {
        caller.pid == openerThread || ProcessTable.process(ofThread: caller.pid) == opener
    }

    /// Uploads what changed since the last upload; a file closed without changes settles.
    func flush(with uploads: UploadRoute) async throws {
        try await inTurn {
            if let failure {
                await uploads.abandon(entryID: entryID, isNew: isNew)
                throw FUSEError(failure)
            }
            guard dirty else {
                try await uploads.settleUnwritten(entryID: entryID)
                return
            }
            dirty = false
            let adopted = try await uploads.deliver(spool: spool, entryID: entryID, type: type, isNew: isNew)
            isNew = false
            sharesCachedContent = adopted
        }
    }

    /// The last close: bytes no flush uploaded (the opener closed before a process that shared
    /// the descriptor wrote more) are uploaded now, reported by the uploader if they fail; then
    /// the spool goes (unless it became cached content), and a file never uploaded settles as a
    /// placeholder, or goes if its writes failed.
    func release(with uploads: UploadRoute) async {
        await turns.acquire()
        defer { turns.release() }
        guard !released else { return }
        if failure == nil, dirty {
            dirty = false
            if let adopted = try? await uploads.deliver(spool: spool, entryID: entryID, type: type, isNew: isNew) {
                isNew = false
                sharesCachedContent = adopted
            }
        }
        released = true
        close(spool.descriptor)
        guard !sharesCachedContent else { return }
        unlink(spool.path)
        if failure != nil {
            await uploads.abandon(entryID: entryID, isNew: isNew)
        } else {
            try? await uploads.settleUnwritten(entryID: entryID)
        }
    }

    /// Cached media never change: before the first write after an upload, the bytes are copied
    /// to a spool of this handle's own.
    private func ensureOwnSpool() throws {
        guard sharesCachedContent else { return }
        let copy = try cache.openSpoolFile(copyingFrom: spool.descriptor)
        close(spool.descriptor)
        spool = SpoolFile(path: copy.path, descriptor: copy.descriptor)
        sharesCachedContent = false
    }
}

/// A spool file: where a write's bytes wait for their upload.
struct SpoolFile: Sendable {
    var path: String
    var descriptor: Int32
}
