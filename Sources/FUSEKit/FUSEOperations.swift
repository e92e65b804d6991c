import CFuse3

#if canImport(Glibc)
import Glibc
#endif

/// The libfuse low-level operation table. Each callback copies what it needs out of the kernel's
/// buffers (they are gone once it returns), then hands the request to the session's dispatcher.
enum FUSEOperations {
    static var table: fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { _, connection in
            guard let connection else { return }
            // O_TRUNC arrives with open (no separate truncate), and listings carry attributes.
            // Reads answered from files are spliced into the kernel (SPLICE_WRITE/MOVE).
            let wanted =
                UInt32(FUSE_CAP_ATOMIC_O_TRUNC) | UInt32(FUSE_CAP_READDIRPLUS) | UInt32(FUSE_CAP_ASYNC_READ)
                | UInt32(FUSE_CAP_SPLICE_WRITE) | UInt32(FUSE_CAP_SPLICE_MOVE)
            connection.pointee.want |= wanted & connection.pointee.capable
            connection.pointee.want &= ~UInt32(FUSE_CAP_READDIRPLUS_AUTO)
            // Writes of 128 KiB per request. 1 MiB was measured too: no faster for a 10 MiB cp
            // (the upload dominates) and 10-20 MiB more peak memory with 8 parallel writers, as
            // every worker thread's buffer and every in-flight copy grows to a megabyte.
            connection.pointee.max_write = 128 << 10
        }
        ops.lookup = { raw, parent, name in
            guard let (session, request) = accept(raw, "lookup") else { return }
            guard let name = string(name) else { return request.fail(ENOENT) }
            session.dispatch(request, immediately: true) {
                let entry = try await session.fileSystem.lookup(parent: parent, name: name)
                request.entry(entry)
            }
        }
        ops.forget = { raw, inode, lookups in
            guard let (session, request) = accept(raw, "forget") else { return }
            request.none()
            Task { await session.fileSystem.forget(inode: inode, lookups: lookups) }
        }
        ops.forget_multi = { raw, count, items in
            guard let (session, request) = accept(raw, "forget_multi") else { return }
            let forgotten = (0..<count).compactMap { items?[$0] }.map { ($0.ino, $0.nlookup) }
            request.none()
            Task {
                for (inode, lookups) in forgotten { await session.fileSystem.forget(inode: inode, lookups: lookups) }
            }
        }
        ops.getattr = { raw, inode, _ in
            guard let (session, request) = accept(raw, "getattr") else { return }
            session.dispatch(request, immediately: true) {
                let (attributes, timeout) = try await session.fileSystem.getattr(inode: inode)
                request.attributes(attributes, timeout: timeout)
            }
        }
        ops.setattr = { raw, inode, attributes, toSet, info in
            guard let (session, request) = accept(raw, "setattr"), let attributes else { return }
            let changes = changes(attributes.pointee, toSet: toSet, handle: info?.pointee.fh)
            let caller = request.caller
            session.dispatch(request) {
                let (result, timeout) = try await session.fileSystem.setattr(
                    inode: inode, changes: changes, caller: caller)
                request.attributes(result, timeout: timeout)
            }
        }
        ops.readlink = { raw, _ in accept(raw, "readlink")?.1.fail(EINVAL) }
        ops.mknod = { raw, parent, name, mode, _ in
            guard let (session, request) = accept(raw, "mknod") else { return }
            guard let name = string(name) else { return request.fail(EILSEQ) }
            session.dispatch(request) {
                request.entry(try await session.fileSystem.mknod(parent: parent, name: name, mode: UInt32(mode)))
            }
        }
        ops.mkdir = { raw, parent, name, mode in
            guard let (session, request) = accept(raw, "mkdir") else { return }
            guard let name = string(name) else { return request.fail(EILSEQ) }
            let caller = request.caller
            session.dispatch(request) {
                request.entry(
                    try await session.fileSystem.mkdir(
                        parent: parent, name: name, permissions: UInt32(mode) & 0o7777, caller: caller))
            }
        }
        ops.unlink = { raw, parent, name in
            guard let (session, request) = accept(raw, "unlink") else { return }
            guard let name = string(name) else { return request.fail(ENOENT) }
            session.dispatch(request) {
                try await session.fileSystem.unlink(parent: parent, name: name)
                request.succeed()
            }
        }
        ops.rmdir = { raw, parent, name in
            guard let (session, request) = accept(raw, "rmdir") else { return }
            guard let name = string(name) else { return request.fail(ENOENT) }
            session.dispatch(request) {
                try await session.fileSystem.rmdir(parent: parent, name: name)
                request.succeed()
            }
        }
        ops.symlink = { raw, target, parent, name in
            guard let (session, request) = accept(raw, "symlink") else { return }
            guard let target = string(target), let name = string(name) else { return request.fail(EILSEQ) }
            session.dispatch(request) {
                request.entry(try await session.fileSystem.symlink(target: target, parent: parent, name: name))
            }
        }
        ops.link = { raw, inode, newParent, newName in
            guard let (session, request) = accept(raw, "link") else { return }
            guard let newName = string(newName) else { return request.fail(EILSEQ) }
            session.dispatch(request) {
                request.entry(try await session.fileSystem.link(inode: inode, newParent: newParent, newName: newName))
            }
        }
        ops.rename = { raw, parent, name, newParent, newName, flags in
            guard let (session, request) = accept(raw, "rename") else { return }
            guard let name = string(name), let newName = string(newName) else { return request.fail(EILSEQ) }
            session.dispatch(request) {
                try await session.fileSystem.rename(
                    parent: parent, name: name, newParent: newParent, newName: newName,
                    flags: RenameFlags(rawValue: UInt32(flags)))
                request.succeed()
            }
        }
        ops.open = { raw, inode, info in
            guard let (session, request) = accept(raw, "open"), let info else { return }
            let flags = info.pointee.flags
            let caller = request.caller
            session.dispatch(request, immediately: true) {
                request.opened(try await session.fileSystem.open(inode: inode, flags: flags, caller: caller))
            }
        }
        ops.create = { raw, parent, name, mode, info in
            guard let (session, request) = accept(raw, "create"), let info else { return }
            guard let name = string(name) else { return request.fail(EILSEQ) }
            let flags = info.pointee.flags
            let caller = request.caller
            session.dispatch(request, immediately: true) {
                let (entry, file) = try await session.fileSystem.create(
                    parent: parent, name: name, permissions: UInt32(mode) & 0o7777, flags: flags, caller: caller)
                request.created(entry, file)
            }
        }
        ops.read = { raw, inode, size, offset, info in
            guard let (session, request) = accept(raw, "read"), let info else { return }
            let handle = info.pointee.fh
            session.dispatch(request) {
                request.data(
                    try await session.fileSystem.read(inode: inode, handle: handle, offset: Int64(offset), size: size))
            }
        }
        ops.write = { raw, inode, buffer, size, offset, info in
            guard let (session, request) = accept(raw, "write"), let info else { return }
            let handle = info.pointee.fh
            if let buffer,
                let written = session.fileSystem.writeAtOnce(
                    inode: inode, handle: handle, offset: Int64(offset),
                    data: UnsafeRawBufferPointer(start: buffer, count: size))
            {
                return request.written(written)
            }
            let data =
                buffer.map { Array(UnsafeRawBufferPointer(start: $0, count: size).bindMemory(to: UInt8.self)) } ?? []
            // Bulk data: behind lookups, opens and reads, which someone is waiting on.
            session.dispatch(request, priority: .utility) {
                request.written(
                    try await session.fileSystem.write(inode: inode, handle: handle, offset: Int64(offset), data: data))
            }
        }
        ops.flush = { raw, inode, info in
            guard let (session, request) = accept(raw, "flush"), let info else { return }
            let handle = info.pointee.fh
            let caller = request.caller
            session.dispatch(request, immediately: true) {
                try await session.fileSystem.flush(inode: inode, handle: handle, caller: caller)
                request.succeed()
            }
        }
        ops.release = { raw, inode, info in
            guard let (session, request) = accept(raw, "release"), let info else { return }
            let handle = info.pointee.fh
            session.dispatch(request, immediately: true) {
                try await session.fileSystem.release(inode: inode, handle: handle)
                request.succeed()
            }
        }
        ops.fsync = { raw, inode, _, info in
            guard let (session, request) = accept(raw, "fsync"), let info else { return }
            let handle = info.pointee.fh
            session.dispatch(request) {
                try await session.fileSystem.fsync(inode: inode, handle: handle)
                request.succeed()
            }
        }
        ops.opendir = { raw, inode, _ in
            guard let (session, request) = accept(raw, "opendir") else { return }
            session.dispatch(request) {
                request.opened(OpenedFile(handle: try await session.fileSystem.opendir(inode: inode)))
            }
        }
        ops.readdir = { raw, inode, size, offset, info in
            guard let (session, request) = accept(raw, "readdir"), let info else { return }
            let handle = info.pointee.fh
            session.dispatch(request) {
                let entries = try await session.fileSystem.readdir(inode: inode, handle: handle, offset: Int64(offset))
                request.directory(entries, size: size, plus: false)
            }
        }
        ops.readdirplus = { raw, inode, size, offset, info in
            guard let (session, request) = accept(raw, "readdirplus"), let info else { return }
            let handle = info.pointee.fh
            session.dispatch(request) {
                let entries = try await session.fileSystem.readdir(inode: inode, handle: handle, offset: Int64(offset))
                request.directory(entries, size: size, plus: true)
            }
        }
        ops.releasedir = { raw, inode, info in
            guard let (session, request) = accept(raw, "releasedir"), let info else { return }
            let handle = info.pointee.fh
            session.dispatch(request) {
                try await session.fileSystem.releasedir(inode: inode, handle: handle)
                request.succeed()
            }
        }
        ops.statfs = { raw, inode in
            guard let (session, request) = accept(raw, "statfs") else { return }
            session.dispatch(request) {
                request.statistics(try await session.fileSystem.statfs(inode: inode))
            }
        }
        ops.setxattr = { raw, inode, name, value, size, flags in
            guard let (session, request) = accept(raw, "setxattr") else { return }
            guard let name = string(name) else { return request.fail(EILSEQ) }
            let bytes =
                value.map { Array(UnsafeRawBufferPointer(start: $0, count: size).bindMemory(to: UInt8.self)) } ?? []
            session.dispatch(request) {
                try await session.fileSystem.setxattr(inode: inode, name: name, value: bytes, flags: flags)
                request.succeed()
            }
        }
        ops.getxattr = { raw, inode, name, size in
            guard let (session, request) = accept(raw, "getxattr") else { return }
            guard let name = string(name) else { return request.fail(ENODATA) }
            // Names outside the filesystem's namespaces are answered here, without a task, and with
            // "not supported": ls -l then stops asking each file for security.selinux and
            // system.posix_acl_access (it remembers per device), which cost two round trips a file.
            guard session.fileSystem.keepsAttribute(named: name) else { return request.fail(EOPNOTSUPP) }
            session.dispatch(request) {
                let value = try await session.fileSystem.getxattr(inode: inode, name: name)
                if size == 0 { return request.xattrSize(value.count) }
                guard value.count <= size else { throw FUSEError.range }
                request.bytes(value)
            }
        }
        ops.listxattr = { raw, inode, size in
            guard let (session, request) = accept(raw, "listxattr") else { return }
            session.dispatch(request) {
                let names = try await session.fileSystem.listxattr(inode: inode)
                let packed: [UInt8] = names.flatMap { Array($0.utf8) + [0] }
                if size == 0 { return request.xattrSize(packed.count) }
                guard packed.count <= size else { throw FUSEError.range }
                request.bytes(packed)
            }
        }
        ops.removexattr = { raw, inode, name in
            guard let (session, request) = accept(raw, "removexattr") else { return }
            guard let name = string(name) else { return request.fail(ENODATA) }
            session.dispatch(request) {
                try await session.fileSystem.removexattr(inode: inode, name: name)
                request.succeed()
            }
        }
        return ops
    }
}

/// The session and the request, counted in flight; nil when the request was answered here (no
/// session, or one that no longer accepts work).
private func accept(_ raw: fuse_req_t?, _ operation: StaticString) -> (FUSESession, PendingRequest)? {
    guard let raw, let session = FUSESession.from(raw) else {
        if let raw { fuse_reply_err(raw, EIO) }
        return nil
    }
    let request = PendingRequest(raw, operation: operation, gate: session.replies)
    guard request.admitted else {
        request.fail(EIO)
        return nil
    }
    return (session, request)
}

/// A name from the kernel; nil when it is not UTF-8 (such names cannot be stored faithfully):
/// creating one is EILSEQ, looking one up ENOENT.
private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.flatMap { String(validatingCString: $0) }
}

private func changes(_ value: stat, toSet: Int32, handle: UInt64?) -> AttributeChanges {
    func has(_ flag: Int32) -> Bool { toSet & flag != 0 }
    var changes = AttributeChanges(handle: handle)
    if has(FUSE_SET_ATTR_MODE) { changes.permissions = UInt32(value.st_mode) & 0o7777 }
    if has(FUSE_SET_ATTR_UID) { changes.uid = value.st_uid }
    if has(FUSE_SET_ATTR_GID) { changes.gid = value.st_gid }
    if has(FUSE_SET_ATTR_SIZE) { changes.size = UInt64(max(0, value.st_size)) }
    if has(FUSE_SET_ATTR_ATIME_NOW) {
        changes.accessTime = .now
    } else if has(FUSE_SET_ATTR_ATIME) {
        changes.accessTime = value.st_atim
    }
    if has(FUSE_SET_ATTR_MTIME_NOW) {
        changes.modificationTime = .now
    } else if has(FUSE_SET_ATTR_MTIME) {
        changes.modificationTime = value.st_mtim
    }
    return changes
}
