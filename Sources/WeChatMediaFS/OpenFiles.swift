import FUSEKit
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// A file being written: its bytes go to a spool file until `flush` uploads them.
struct WriteSession: Sendable {
    var entryID: Int64
    var type: MediaType
    var spoolPath: String
    var descriptor: Int32
    /// Bytes changed since the last upload (a truncation counts).
    var dirty: Bool
    /// Created by this open: a failed first upload removes the name again.
    var isNew: Bool
    /// A write already failed for good (EFBIG): the bytes are incomplete and are never uploaded.
    var failure: Int32? = nil
    /// An upload adopted the spool file as the media's cached content: the descriptor reads it,
    /// and must not write it (see `MediaFileSystem.writableSession`).
    var sharesCachedContent = false
}

/// What an open handle reads from or writes to.
enum OpenFile: Sendable {
    case write(WriteSession)
    /// A local file (cached content of `mediaID`, pinned against eviction while open).
    case local(descriptor: Int32, mediaID: String)
    /// Media not on disk yet: reads wait for the download.
    case remote(mediaID: String, size: Int64?, isVideo: Bool)
    /// Small generated content (a sidecar).
    case bytes([UInt8])
}

/// The open handles, and the uploads in flight (so a shutdown can wait for them).
actor OpenFiles {
    private var files: [UInt64: OpenFile] = [:]
    private var nextHandle: UInt64 = 1
    private var uploadsInFlight = 0
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    func register(_ file: OpenFile) -> UInt64 {
        let handle = nextHandle
        nextHandle += 1
        files[handle] = file
        return handle
    }

    func file(_ handle: UInt64) -> OpenFile? { files[handle] }

    func replace(_ handle: UInt64, with file: OpenFile) {
        if files[handle] != nil { files[handle] = file }
    }

    func remove(_ handle: UInt64) -> OpenFile? { files.removeValue(forKey: handle) }

    /// The handles writing to entry `id`.
    func writeSessions(of id: Int64) -> [(UInt64, WriteSession)] {
        files.compactMap { handle, file in
            if case .write(let session) = file, session.entryID == id { (handle, session) } else { nil }
        }
    }

    func uploadStarted() { uploadsInFlight += 1 }

    func uploadFinished() {
        uploadsInFlight -= 1
        if uploadsInFlight == 0 {
            idleWaiters.forEach { $0.resume() }
            idleWaiters.removeAll()
        }
    }

    /// Returns once no upload is in flight.
    func waitUntilNoUploads() async {
        guard uploadsInFlight > 0 else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }
}
