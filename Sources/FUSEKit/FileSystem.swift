/// A filesystem served through libfuse's low-level API: async methods on inode numbers. Each
/// call runs in its own task and its answer is sent when it returns, so a slow call (an upload in
/// `flush`) never holds up the others. Throw `FUSEError` to answer with an errno; any other error
/// answers EIO. Every method has a default: most refuse with ENOSYS (EPERM for links); open,
/// opendir, flush, release, releasedir, fsync, referenced and forget succeed doing nothing;
/// `writeAtOnce` leaves every write to `write`.
public protocol FileSystem: Sendable {
    func lookup(parent: Inode, name: String) async throws -> Entry
    func getattr(inode: Inode) async throws -> (FileAttributes, timeout: Double)
    func setattr(inode: Inode, changes: AttributeChanges, caller: Caller) async throws -> (
        FileAttributes, timeout: Double
    )
    func mkdir(parent: Inode, name: String, permissions: UInt32, caller: Caller) async throws -> Entry
    func unlink(parent: Inode, name: String) async throws
    func rmdir(parent: Inode, name: String) async throws
    func rename(parent: Inode, name: String, newParent: Inode, newName: String, flags: RenameFlags) async throws
    func symlink(target: String, parent: Inode, name: String) async throws -> Entry
    func link(inode: Inode, newParent: Inode, newName: String) async throws -> Entry
    func mknod(parent: Inode, name: String, mode: UInt32) async throws -> Entry

    func open(inode: Inode, flags: Int32, caller: Caller) async throws -> OpenedFile
    func create(parent: Inode, name: String, permissions: UInt32, flags: Int32, caller: Caller) async throws -> (
        Entry, OpenedFile
    )
    func read(inode: Inode, handle: UInt64, offset: Int64, size: Int) async throws -> ReadData
    func write(inode: Inode, handle: UInt64, offset: Int64, data: [UInt8]) async throws -> Int
    /// The write answered on libfuse's thread, when it needs no waiting (bytes to a local file,
    /// no other work of the handle under way): nil hands it to `write`. It must not block on
    /// anything but the local disk. It saves the many small writes of a `cp` a thread hop and a
    /// copy of their bytes.
    func writeAtOnce(inode: Inode, handle: UInt64, offset: Int64, data: UnsafeRawBufferPointer) -> Int?
    /// Sent on every `close()` of every copy of a descriptor (a `dup`, a child that inherited it),
    /// by `caller`.
    func flush(inode: Inode, handle: UInt64, caller: Caller) async throws
    func release(inode: Inode, handle: UInt64) async throws
    func fsync(inode: Inode, handle: UInt64) async throws

    func opendir(inode: Inode) async throws -> UInt64
    /// Entries after `offset` (0 for the start), in a stable order; as many as are cheap to give.
    func readdir(inode: Inode, handle: UInt64, offset: Int64) async throws -> [DirectoryEntry]
    func releasedir(inode: Inode, handle: UInt64) async throws

    func statfs(inode: Inode) async throws -> FilesystemStatistics

    func getxattr(inode: Inode, name: String) async throws -> [UInt8]
    /// Whether an attribute called `name` can exist here at all. Asked on libfuse's thread, so it
    /// must answer at once, without I/O; `getxattr` of a name it refuses is answered ENOTSUP.
    func keepsAttribute(named name: String) -> Bool
    func listxattr(inode: Inode) async throws -> [String]
    func setxattr(inode: Inode, name: String, value: [UInt8], flags: Int32) async throws
    func removexattr(inode: Inode, name: String) async throws

    /// The kernel took one lookup reference to `inode`: a lookup, create, mkdir, mknod, symlink or
    /// link answered with it, or an entry of a listing with attributes. Called just before the
    /// answer is sent, on the thread sending it: it must not wait. `forget` gives them back; a
    /// filesystem that keeps a table of inodes drops an inode's row when its count is zero.
    func referenced(inode: Inode)
    /// The kernel dropped `lookups` references to `inode`.
    func forget(inode: Inode, lookups: UInt64) async
}

extension FileSystem {
    public func setattr(inode: Inode, changes: AttributeChanges, caller: Caller) async throws -> (
        FileAttributes, timeout: Double
    ) { throw FUSEError.notImplemented }
    public func mkdir(parent: Inode, name: String, permissions: UInt32, caller: Caller) async throws -> Entry {
        throw FUSEError.notImplemented
    }
    public func unlink(parent: Inode, name: String) async throws { throw FUSEError.notImplemented }
    public func rmdir(parent: Inode, name: String) async throws { throw FUSEError.notImplemented }
    public func rename(parent: Inode, name: String, newParent: Inode, newName: String, flags: RenameFlags) async throws
    {
        throw FUSEError.notImplemented
    }
    public func symlink(target: String, parent: Inode, name: String) async throws -> Entry {
        throw FUSEError.notPermitted
    }
    public func link(inode: Inode, newParent: Inode, newName: String) async throws -> Entry {
        throw FUSEError.notPermitted
    }
    public func mknod(parent: Inode, name: String, mode: UInt32) async throws -> Entry { throw FUSEError.notPermitted }
    public func open(inode: Inode, flags: Int32, caller: Caller) async throws -> OpenedFile { OpenedFile(handle: 0) }
    public func create(parent: Inode, name: String, permissions: UInt32, flags: Int32, caller: Caller) async throws -> (
        Entry, OpenedFile
    ) { throw FUSEError.notImplemented }
    public func read(inode: Inode, handle: UInt64, offset: Int64, size: Int) async throws -> ReadData {
        throw FUSEError.notImplemented
    }
    public func write(inode: Inode, handle: UInt64, offset: Int64, data: [UInt8]) async throws -> Int {
        throw FUSEError.notImplemented
    }
    public func writeAtOnce(inode: Inode, handle: UInt64, offset: Int64, data: UnsafeRawBufferPointer) -> Int? {
        nil
    }
    public func flush(inode: Inode, handle: UInt64, caller: Caller) async throws {}
    public func release(inode: Inode, handle: UInt64) async throws {}
    public func fsync(inode: Inode, handle: UInt64) async throws {}
    public func opendir(inode: Inode) async throws -> UInt64 { 0 }
    public func releasedir(inode: Inode, handle: UInt64) async throws {}
    public func getxattr(inode: Inode, name: String) async throws -> [UInt8] { throw FUSEError.noAttribute }
    public func listxattr(inode: Inode) async throws -> [String] { [] }
    public func keepsAttribute(named name: String) -> Bool { true }
    public func setxattr(inode: Inode, name: String, value: [UInt8], flags: Int32) async throws {
        throw FUSEError.notSupported
    }
    public func removexattr(inode: Inode, name: String) async throws { throw FUSEError.notSupported }
    public func referenced(inode: Inode) {}
    public func forget(inode: Inode, lookups: UInt64) async {}
}
