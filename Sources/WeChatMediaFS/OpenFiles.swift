import FUSEKit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What an open handle reads from or writes to. Each case that holds state is an object of its
/// own, shared by reference: nothing is copied out, changed and written back.
enum OpenFile: Sendable {
    case write(WriteHandle)
    /// Cached content, pinned against eviction while open.
    case cached(CachedContentHandle)
    /// Media not on disk yet: reads wait for the download.
    case remote(RemoteContentHandle)
    /// Small generated content (a sidecar).
    case bytes([UInt8])
    /// A sidecar opened for writing by a tool that copies it: reads give its content, writes
    /// are accepted and dropped.
    case ignoredWrites([UInt8])
}

/// A descriptor of cached content, open for reading until the handle is released.
final class CachedContentHandle: Sendable {
    let mediaID: String
    let descriptor: Int32

    init(mediaID: String, descriptor: Int32) {
        self.mediaID = mediaID
        self.descriptor = descriptor
    }

    /// A descriptor of its own for one read reply, which FUSEKit closes once it has replied: a
    /// release racing the reply then closes only the handle's descriptor, never the reply's.
    func descriptorForReply() throws -> Int32 {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw FUSEError(errno) }
        return copy
    }

    deinit { close(descriptor) }
}

/// Media read through a download. A download that failed fails every later read of the handle
/// at once with the same errno (and so does one that failed for another file of the id, after
/// this one was opened): the kernel reads a page again after a failed read-ahead, and each of
/// those reads must not cost another `--request-timeout`.
final class RemoteContentHandle: Sendable {
    let mediaID: String
    let size: Int64?
    let isVideo: Bool
    /// A download that failed after this instant fails this file's later reads at once.
    let openedAt = ContinuousClock.now
    private let failure = Mutex<Int32?>(nil)

    init(mediaID: String, size: Int64?, isVideo: Bool) {
        self.mediaID = mediaID
        self.size = size
        self.isVideo = isVideo
    }

    /// The errno a download of this handle already failed with.
    var failedWith: Int32? { failure.withLock { $0 } }

    func failed(_ code: Int32) { failure.withLock { $0 = $0 ?? code } }
}

/// The open handles by number. Looked up on every read and write, so a lock held for a
/// dictionary access only, never across an `await`.
final class OpenFiles: Sendable {
    private struct State {
        var files: [UInt64: OpenFile] = [:]
        var nextHandle: UInt64 = 1
    }

    private let state = Mutex(State())

    func register(_ file: OpenFile) -> UInt64 {
        state.withLock { state in
            let handle = state.nextHandle
            state.nextHandle += 1
            state.files[handle] = file
            return handle
        }
    }

    func file(_ handle: UInt64) -> OpenFile? { state.withLock { $0.files[handle] } }

    func remove(_ handle: UInt64) -> OpenFile? { state.withLock { $0.files.removeValue(forKey: handle) } }

    /// The handles writing to entry `id`.
    func writeHandles(of id: Int64) -> [WriteHandle] {
        state.withLock { state in
            state.files.values.compactMap { file in
                if case .write(let handle) = file, handle.entryID == id { handle } else { nil }
            }
        }
    }
}
