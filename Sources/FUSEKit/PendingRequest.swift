import CFuse3
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One kernel request awaiting its answer. libfuse lets any thread answer a request, but exactly
/// once and never after its session is destroyed. So every reply below goes through `answer`:
/// the first one is sent through the session's `ReplyGate` (which drops it once the session is
/// going away), any later one is ignored, and a request dropped unanswered answers EIO itself.
final class PendingRequest: Sendable {
    /// The operation, for logs and latency.
    let operation: StaticString
    /// Who asked; read from the request while libfuse's callback runs.
    let caller: Caller
    /// False when the session no longer accepts work: the request is to be answered at once.
    let admitted: Bool
    private let gate: ReplyGate
    /// When libfuse handed the request over, for its latency.
    private let receivedAt = ContinuousClock.now
    /// The `fuse_req_t`'s address until the request is answered, then 0.
    private let raw: Mutex<UInt>

    /// Counts the request in flight at `gate`.
    init(_ raw: fuse_req_t, operation: StaticString, gate: ReplyGate) {
        self.operation = operation
        self.gate = gate
        self.raw = Mutex(UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(raw))))
        if let context = fuse_req_ctx(raw) {
            caller = Caller(uid: context.pointee.uid, gid: context.pointee.gid, pid: context.pointee.pid)
        } else {
            caller = Caller(uid: 0, gid: 0, pid: 0)
        }
        admitted = gate.admit()
    }

    deinit {
        if let request = take() {
            gate.logger.debug("\(operation) dropped without an answer: answering EIO")
            gate.send { fuse_reply_err(request, EIO) }
        }
    }

    /// Sends the reply `send` makes from the libfuse request, if this is the first answer.
    private func answer(_ send: (fuse_req_t) -> Void) {
        guard let request = take() else {
            return gate.logger.debug("\(operation) answered twice: the second answer is ignored")
        }
        gate.send { send(request) }
        OperationMetrics.answered(operation, receivedAt: receivedAt)
    }

    /// The libfuse request, once: nil if it was taken before.
    private func take() -> fuse_req_t? {
        OpaquePointer(
            bitPattern: raw.withLock { address in
                defer { address = 0 }
                return address
            })
    }

    func fail(_ errno: Int32) { answer { fuse_reply_err($0, errno) } }
    func succeed() { answer { fuse_reply_err($0, 0) } }
    func none() { answer { fuse_reply_none($0) } }

    func entry(_ entry: Entry) {
        var parameters = Self.parameters(entry)
        if parameters.ino != 0 { gate.referenced(parameters.ino) }
        answer { fuse_reply_entry($0, &parameters) }
    }

    func attributes(_ attributes: FileAttributes, timeout: Double) {
        var value = attributes.stat
        answer { fuse_reply_attr($0, &value, timeout) }
    }

    func opened(_ file: OpenedFile) {
        var info = fuse_file_info()
        cfuse_file_info_set(&info, file.handle, file.directIO ? 1 : 0, file.keepCache ? 1 : 0, 0)
        answer { fuse_reply_open($0, &info) }
    }

    func created(_ entry: Entry, _ file: OpenedFile) {
        var parameters = Self.parameters(entry)
        var info = fuse_file_info()
        cfuse_file_info_set(&info, file.handle, file.directIO ? 1 : 0, file.keepCache ? 1 : 0, 0)
        if parameters.ino != 0 { gate.referenced(parameters.ino) }
        answer { fuse_reply_create($0, &parameters, &info) }
    }

    func bytes(_ bytes: [UInt8]) {
        answer { request in
            _ = bytes.withUnsafeBytes {
                fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count)
            }
        }
    }

    /// A descriptor handed over with `closeAfterReply` is closed here exactly once: after the
    /// splice, or at once when the reply is not sent (a second answer, a session going away).
    func data(_ data: ReadData) {
        switch data {
        case .bytes(let bytes):
            self.bytes(bytes)
        case .file(let descriptor, let offset, let size, let closeAfterReply):
            defer { if closeAfterReply { close(descriptor) } }
            answer { _ = cfuse_reply_file($0, descriptor, off_t(offset), size) }
        }
    }

    func written(_ count: Int) { answer { fuse_reply_write($0, count) } }

    func xattrSize(_ size: Int) { answer { fuse_reply_xattr($0, size) } }

    func statistics(_ stats: FilesystemStatistics) {
        var value = statvfs()
        value.f_bsize = stats.blockSize
        value.f_frsize = stats.blockSize
        value.f_blocks = fsblkcnt_t(stats.totalBlocks)
        value.f_bfree = fsblkcnt_t(stats.freeBlocks)
        value.f_bavail = fsblkcnt_t(stats.freeBlocks)
        value.f_files = fsfilcnt_t(stats.totalFiles)
        value.f_ffree = fsfilcnt_t(stats.freeFiles)
        value.f_favail = fsfilcnt_t(stats.freeFiles)
        value.f_namemax = stats.maxNameLength
        answer { fuse_reply_statfs($0, &value) }
    }

    /// Packs as many of `entries` as fit in `size` bytes, with full attributes when `plus`; each
    /// entry packed with attributes is a lookup reference the kernel takes.
    func directory(_ entries: [DirectoryEntry], size: Int, plus: Bool) {
        // Packing reads the request, so it happens inside `answer` too.
        answer { request in
            var buffer = [CChar](repeating: 0, count: size)
            var used = 0
            buffer.withUnsafeMutableBufferPointer { storage in
                guard let base = storage.baseAddress else { return }
                for entry in entries {
                    var attributes = entry.attributes.stat
                    let needed: Int = entry.name.withCString { name in
                        if plus {
                            var parameters = fuse_entry_param()
                            parameters.ino = entry.attributes.inode
                            parameters.generation = 1
                            parameters.attr = attributes
                            parameters.attr_timeout = entry.cacheTimeout
                            parameters.entry_timeout = entry.cacheTimeout
                            // "." and ".." carry no lookup reference: libfuse ignores the inode for them.
                            return fuse_add_direntry_plus(
                                request, base + used, size - used, name, &parameters, off_t(entry.offset))
                        }
                        return fuse_add_direntry(
                            request, base + used, size - used, name, &attributes, off_t(entry.offset))
                    }
                    if needed > size - used { break }
                    used += needed
                    if plus, entry.name != ".", entry.name != ".." { gate.referenced(entry.attributes.inode) }
                }
            }
            _ = buffer.withUnsafeBufferPointer { fuse_reply_buf(request, $0.baseAddress, used) }
        }
    }

    private static func parameters(_ entry: Entry) -> fuse_entry_param {
        var parameters = fuse_entry_param()
        if let attributes = entry.attributes {
            parameters.ino = attributes.inode
            parameters.attr = attributes.stat
        }
        parameters.generation = 1
        parameters.attr_timeout = entry.attributeTimeout
        parameters.entry_timeout = entry.entryTimeout
        return parameters
    }
}
