import CFuse3

#if canImport(Glibc)
import Glibc
#endif

/// One kernel request awaiting its answer. libfuse lets any thread send a request's reply, exactly
/// once; the methods here are those replies, and each is called once by the dispatcher.
struct FUSERequest: @unchecked Sendable {  // An opaque libfuse handle, valid on any thread until replied to.
    let raw: fuse_req_t

    var caller: Caller {
        guard let context = fuse_req_ctx(raw) else { return Caller(uid: 0, gid: 0, pid: 0) }
        return Caller(uid: context.pointee.uid, gid: context.pointee.gid, pid: context.pointee.pid)
    }

    func fail(_ errno: Int32) { fuse_reply_err(raw, errno) }
    func succeed() { fuse_reply_err(raw, 0) }
    func none() { fuse_reply_none(raw) }

    func entry(_ entry: Entry) {
        var parameters = Self.parameters(entry)
        fuse_reply_entry(raw, &parameters)
    }

    func attributes(_ attributes: FileAttributes, timeout: Double) {
        var value = attributes.stat
        fuse_reply_attr(raw, &value, timeout)
    }

    func opened(_ file: OpenedFile) {
        var info = fuse_file_info()
        cfuse_file_info_set(&info, file.handle, file.directIO ? 1 : 0, file.keepCache ? 1 : 0, 0)
        fuse_reply_open(raw, &info)
    }

    func created(_ entry: Entry, _ file: OpenedFile) {
        var parameters = Self.parameters(entry)
        var info = fuse_file_info()
        cfuse_file_info_set(&info, file.handle, file.directIO ? 1 : 0, file.keepCache ? 1 : 0, 0)
        fuse_reply_create(raw, &parameters, &info)
    }

    func bytes(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { fuse_reply_buf(raw, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
    }

    func data(_ data: ReadData) {
        switch data {
        case .bytes(let bytes):
            self.bytes(bytes)
        case .file(let descriptor, let offset, let size, let closeAfterReply):
            _ = cfuse_reply_file(raw, descriptor, off_t(offset), size)
            if closeAfterReply { close(descriptor) }
        }
    }

    func written(_ count: Int) { fuse_reply_write(raw, count) }

    func xattrSize(_ size: Int) { fuse_reply_xattr(raw, size) }

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
        fuse_reply_statfs(raw, &value)
    }

    /// Packs as many of `entries` as fit in `size` bytes, with full attributes when `plus`.
    func directory(_ entries: [DirectoryEntry], size: Int, plus: Bool) {
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
                            raw, base + used, size - used, name, &parameters, off_t(entry.offset))
                    }
                    return fuse_add_direntry(raw, base + used, size - used, name, &attributes, off_t(entry.offset))
                }
                if needed > size - used { break }
                used += needed
            }
        }
        _ = buffer.withUnsafeBufferPointer { fuse_reply_buf(raw, $0.baseAddress, used) }
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
