import FUSEKit
import LocalByteStore
import MediaCatalog
import Synchronization
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
///
/// The state sits behind a lock held for a field's access only, never across an `await` (the
/// turn spans those): so a write whose turn is free runs at once on libfuse's thread.
final class WriteHandle: Sendable {
    private struct State {
        var spool: SpoolFile
        /// Bytes changed since the last upload (a truncation counts).
        var dirty: Bool
        /// Created by this open: a failed first upload removes the name again.
        var isNew: Bool
        /// A write already failed for good (EFBIG): the bytes are incomplete and are never uploaded.
        var failure: Int32?
        /// The spool file was handed off (an upload adopted it as the media's cached content, or
        /// the background queue took it): the descriptor reads it, and must not write it; a write
        /// first copies it to a new spool.
        var sharesCachedContent = false
        var released = false
    }

    let entryID: Int64
    /// The inode it writes: entry ids of different trees may be equal, inodes never are.
    let inode: Inode
    let type: MediaType
    /// Bytes past this offset are refused (EFBIG): the type's limit where it is written.
    let sizeLimit: Int64
    /// Where `flush` and the last close send the bytes.
    let delivery: any SpoolDelivery
    /// The process that opened it, and the thread FUSE named: its `close()` uploads; a flush from
    /// another process (a child that inherited the descriptor, a `{ head; tail; } > file` group)
    /// is not the end yet.
    let opener: Int32
    let openerThread: Int32
    private let cache: ContentCache
    private let state: Mutex<State>
    private let turns = ExclusiveAccess()

    init(
        entryID: Int64, inode: Inode, type: MediaType, sizeLimit: Int64, delivery: any SpoolDelivery,
        openerThread: Int32, cache: ContentCache, spool: SpoolFile, dirty: Bool, isNew: Bool
    ) {
        self.entryID = entryID
        self.inode = inode
        self.type = type
        self.sizeLimit = sizeLimit
        self.delivery = delivery
        self.openerThread = openerThread
        self.opener = ProcessTable.process(ofThread: openerThread)
        self.cache = cache
        self.state = Mutex(State(spool: spool, dirty: dirty, isNew: isNew))
    }

    /// Runs `body` in this handle's turn.
    private func inTurn<T>(_ body: () async throws -> T) async throws -> T {
        await turns.acquire()
        defer { turns.release() }
        guard !state.withLock({ $0.released }) else { throw FUSEError.badHandle }
        return try await body()
    }

    func write(_ data: [UInt8], at offset: Int64) async throws -> Int {
        try await inTurn {
            try data.withUnsafeBytes { try writeInTurn($0, at: offset) }
        }
    }

    /// The write, if its turn is free and it needs no copy first (the spool is the handle's
    /// own): a `pwrite` to a local file, answered on the calling thread. Nil when it must wait,
    /// or failed (the waiting `write` then tries again and reports the error).
    func writeAtOnce(_ data: UnsafeRawBufferPointer, at offset: Int64) -> Int? {
        guard turns.tryAcquire() else { return nil }
        defer { turns.release() }
        guard !state.withLock({ $0.released || $0.sharesCachedContent }) else { return nil }
        return try? writeInTurn(data, at: offset)
    }

    private func writeInTurn(_ data: UnsafeRawBufferPointer, at offset: Int64) throws -> Int {
        try ensureOwnSpool()
        return try state.withLock { state in
            let written = pwrite(state.spool.descriptor, data.baseAddress, data.count, off_t(offset))
            // A short write to a regular file is a full disk.
            guard written == data.count else { throw FUSEError(written < 0 ? errno : ENOSPC) }
            state.dirty = true
            return written
        }
    }

    func truncate(to size: Int64) async throws {
        try await inTurn {
            try ensureOwnSpool()
            try state.withLock { state in
                guard ftruncate(state.spool.descriptor, off_t(size)) == 0 else { throw FUSEError(errno) }
                state.dirty = true
            }
        }
    }

    /// Remembers that a write failed for good; true the first time (so it is logged once).
    func refuseFurtherUploads(_ code: Int32) -> Bool {
        state.withLock { state in
            defer { state.failure = state.failure ?? code }
            return state.failure == nil
        }
    }

    /// How many bytes the file has now.
    func spoolSize() -> Int64? {
        state.withLock { state in
            var info = stat()
            guard fstat(state.spool.descriptor, &info) == 0 else { return nil }
            return Int64(info.st_size)
        }
    }

    /// A descriptor of the spool of its own, for one read reply (closed by FUSEKit after it).
    func descriptorForReply() throws -> Int32 {
        try state.withLock { state in
            let copy = dup(state.spool.descriptor)
            guard copy >= 0 else { throw FUSEError(errno) }
            return copy
        }
    }

    /// Whether a flush by `caller` is the opener's: by thread at no cost, else by process.
    func isOpener(_ caller: Caller) -> Bool {
        caller.pid == openerThread || ProcessTable.process(ofThread: caller.pid) == opener
    }

    /// Uploads what changed since the last upload; a file closed without changes settles.
    func flush() async throws {
        try await inTurn {
            let (failure, dirty, spool, isNew) = state.withLock { state in
                defer { state.dirty = false }
                return (state.failure, state.dirty, state.spool, state.isNew)
            }
            if let failure {
                await delivery.abandon(entryID: entryID, isNew: isNew)
                throw FUSEError(failure)
            }
            guard dirty else {
                try await delivery.settleUnwritten(entryID: entryID)
                return
            }
            let adopted = try await delivery.deliver(spool: spool, entryID: entryID, type: type, isNew: isNew)
            state.withLock { state in
                state.isNew = false
                state.sharesCachedContent = adopted
            }
        }
    }

    /// The last close: bytes no flush uploaded (the opener closed before a process that shared
    /// the descriptor wrote more) are uploaded now, reported by the uploader if they fail; then
    /// the spool goes (unless it became cached content), and a file never uploaded settles as a
    /// placeholder, or goes if its writes failed.
    func release() async {
        await turns.acquire()
        defer { turns.release() }
        let pending = state.withLock { state -> (spool: SpoolFile, isNew: Bool)? in
            guard !state.released, state.failure == nil, state.dirty else { return nil }
            state.dirty = false
            return (state.spool, state.isNew)
        }
        guard !state.withLock({ $0.released }) else { return }
        if let pending,
            let adopted = try? await delivery.deliver(
                spool: pending.spool, entryID: entryID, type: type, isNew: pending.isNew)
        {
            state.withLock { state in
                state.isNew = false
                state.sharesCachedContent = adopted
            }
        }
        let (spool, sharesCachedContent, failure, isNew) = state.withLock { state in
            state.released = true
            return (state.spool, state.sharesCachedContent, state.failure, state.isNew)
        }
        close(spool.descriptor)
        guard !sharesCachedContent else { return }
        unlink(spool.path)
        if failure != nil {
            await delivery.abandon(entryID: entryID, isNew: isNew)
        } else {
            try? await delivery.settleUnwritten(entryID: entryID)
        }
    }

    /// Cached media never change: before the first write after an upload, the bytes are copied
    /// to a spool of this handle's own. Runs in the handle's turn.
    private func ensureOwnSpool() throws {
        let shared = state.withLock { $0.sharesCachedContent ? $0.spool : nil }
        guard let shared else { return }
        let copy = try cache.openSpoolFile(copyingFrom: shared.descriptor)
        state.withLock { state in
            close(state.spool.descriptor)
            state.spool = SpoolFile(path: copy.path, descriptor: copy.descriptor)
            state.sharesCachedContent = false
        }
    }
}

/// A spool file: where a write's bytes wait for their upload.
struct SpoolFile: Sendable {
    var path: String
    var descriptor: Int32

    /// Closes and removes it: the file it was for was never created.
    func discard() {
        close(descriptor)
        unlink(path)
    }
}
