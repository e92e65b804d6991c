import CFuse3
import Dispatch
import Synchronization

/// Lets a filesystem tell the kernel to forget a name it cached (a sidecar that appeared or went,
/// an entry that expired) before its timeout. Create it with the filesystem; the session
/// attaches itself when it mounts. A notice can block in the kernel until the folder's lock is
/// free, which may take until other requests are answered: so notices go out on a queue of their
/// own, never on the threads that answer requests.
public final class KernelCache: Sendable {
    /// The session's address, 0 when none. Only a block on `queue` may use it as a session:
    /// the queue is serial, so a notice and a detach never overlap.
    private let session = Mutex<UInt>(0)
    private let queue = DispatchQueue(label: "wxmediafs.kernel-cache")

    public init() {}

    /// Connects the session, or with nil disconnects it. Runs on the queue, so it returns only
    /// after any notice in progress has ended; after `attach(nil)` no notice can start.
    func attach(_ pointer: OpaquePointer?) {
        let address = pointer.map { UInt(bitPattern: Int(bitPattern: UnsafeRawPointer($0))) } ?? 0
        queue.sync { session.withLock { $0 = address } }
    }

    /// Drops the kernel's cached lookup of `name` in folder `parent` (positive or negative) and
    /// returns once the kernel has. Only for callers that hold no request on that folder open
    /// (flush, release, background work): the kernel takes the folder's lock to do it.
    public func invalidateEntry(parent: Inode, name: String) async {
        await withCheckedContinuation { continuation in
            postInvalidateEntry(parent: parent, name: name, then: continuation.resume)
        }
    }

    /// `invalidateEntry` without waiting for the kernel: for a caller inside a request, whose
    /// folder the kernel may hold locked until it answers. The notice goes out on the queue.
    public func postInvalidateEntry(parent: Inode, name: String, then done: @escaping @Sendable () -> Void = {}) {
        notify(then: done) { pointer in
            _ = name.withCString { fuse_lowlevel_notify_inval_entry(pointer, parent, $0, name.utf8.count) }
        }
    }

    /// Drops the kernel's cached attributes and page cache of `inode` (another host changed it).
    public func invalidateInode(_ inode: Inode) async {
        await withCheckedContinuation { continuation in
            notify(then: continuation.resume) { pointer in _ = fuse_lowlevel_notify_inval_inode(pointer, inode, 0, 0) }
        }
    }

    /// Runs `notice` on the queue with the session, if one is attached when it runs, then `done`.
    private func notify(
        then done: @escaping @Sendable () -> Void, _ notice: @escaping @Sendable (OpaquePointer) -> Void
    ) {
        // Without a session (in-process tests, after unmount) there is nothing to tell; the
        // address that counts is read again on the queue.
        guard session.withLock({ $0 }) != 0 else { return done() }
        queue.async {
            if let pointer = OpaquePointer(bitPattern: self.session.withLock { $0 }) { notice(pointer) }
            done()
        }
    }
}
