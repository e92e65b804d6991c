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
    /// A queued file's local bytes (not on the server yet).
    case local(LocalFileHandle)
    /// Media not on disk yet: reads wait for the download.
    case remote(RemoteContent)
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

/// A local file open for reading until the handle is released (a queued upload's bytes).
final class LocalFileHandle: Sendable {
    let descriptor: Int32

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// A descriptor of its own for one read reply (see `CachedContentHandle`).
    func descriptorForReply() throws -> Int32 {
        let copy = dup(descriptor)
        guard copy >= 0 else { throw FUSEError(errno) }
        return copy
    }

    deinit { close(descriptor) }
}

/// Media read through a download. `openedAt` lets a download that failed after the open fail
/// this file's later reads at once (see `DownloadCoordinator.recentFailures`).
struct RemoteContent: Sendable {
    /// Its key in the content cache (a media id, or an article image's content key).
    let mediaID: String
    let size: Int64?
    let source: DownloadCoordinator.Source
    /// A material whose size the server never told: read whole, its size is learnt.
    var sizeLearntBy: Node? = nil
    let openedAt = ContinuousClock.now
}

/// The open handles by number. Looked up on every read and write, so a lock held for a
/// dictionary access only, never across an `await`.
final class OpenFiles: Sendable {
    private struct State {
        var files: [UInt64: OpenFile] = [:]
        /// The handles writing each inode: asked on every lookup and getattr of a file.
        var writers: [Inode: Set<UInt64>] = [:]
        var nextHandle: UInt64 = 1
    }

    private let state = Mutex(State())

    func register(_ file: OpenFile) -> UInt64 {
        CacheMetrics.opened(file)
        return state.withLock { state in
            let handle = state.nextHandle
            state.nextHandle += 1
            state.files[handle] = file
            if case .write(let writer) = file { state.writers[writer.inode, default: []].insert(handle) }
            return handle
        }
    }

    func file(_ handle: UInt64) -> OpenFile? { state.withLock { $0.files[handle] } }

    func remove(_ handle: UInt64) -> OpenFile? {
        state.withLock { state in
            let file = state.files.removeValue(forKey: handle)
            if case .write(let writer) = file {
                state.writers[writer.inode]?.remove(handle)
                if state.writers[writer.inode]?.isEmpty == true { state.writers[writer.inode] = nil }
            }
            return file
        }
    }

    /// The handles writing to `inode`.
    func writeHandles(of inode: Inode) -> [WriteHandle] {
        state.withLock { state in
            (state.writers[inode] ?? []).compactMap { handle in
                if case .write(let writer) = state.files[handle] { writer } else { nil }
            }
        }
    }
}
