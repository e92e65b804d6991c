import FUSEKit

/// One kind of folder in the mount, with its own rules: what a name resolves to, what a folder
/// lists, what opening, creating, removing and renaming do. The root composes trees
/// (`MediaFileSystem`): it owns the root folder, sends each call to the tree of its inode, and
/// keeps the open handles; a tree never sees an inode of another tree but as a rename's target.
/// A tree that refuses a kind of change need not say so: the defaults refuse it as a read-only
/// folder does.
protocol MediaTree: Sendable {
    /// The folders this tree puts in the root, in listing order.
    var topFolders: [(name: String, node: Node)] { get }
    /// Whether `node` is one of this tree's.
    func owns(_ node: Node) -> Bool

    func lookup(_ name: String, in folder: Node) async throws -> Entry
    func attributes(of node: Node) async throws -> (FileAttributes, timeout: Double)
    /// The folder's names past listing offset `offset` (past "." and "..", which the root adds).
    func listing(of folder: Node, past offset: Int64) async throws -> [DirectoryEntry]
    func open(_ node: Node, flags: Int32, caller: Caller) async throws -> OpenedFile
    func create(_ name: String, in folder: Node, permissions: UInt32, flags: Int32, caller: Caller) async throws
        -> (Entry, OpenedFile)
    func mkdir(_ name: String, in folder: Node, permissions: UInt32, caller: Caller) async throws -> Entry
    func unlink(_ name: String, in folder: Node) async throws
    func rmdir(_ name: String, in folder: Node) async throws
    func rename(_ name: String, in folder: Node, to newName: String, in target: RenameTarget, flags: RenameFlags)
        async throws
    func setattr(_ node: Node, changes: AttributeChanges, caller: Caller) async throws
        -> (FileAttributes, timeout: Double)
    /// `fsync` of a handle open on `node`, once the handle itself has nothing left to deliver.
    func fsync(_ node: Node) async throws

    func getxattr(_ name: String, of node: Node) async throws -> [UInt8]
    func listxattr(of node: Node) async throws -> [String]
    func setxattr(_ name: String, value: [UInt8], flags: Int32, of node: Node) async throws
    func removexattr(_ name: String, of node: Node) async throws

    /// The kernel's lookup references to `node` (see `FileSystem.referenced`).
    func referenced(_ node: Node)
    func forget(_ node: Node, lookups: UInt64) async
}

/// Where a rename goes: a folder of the same tree, or somewhere it cannot go, with the errno
/// that says so (checked after the source, as a kernel filesystem does).
enum RenameTarget {
    case folder(Node)
    case refused(FUSEError)
}

extension MediaTree {
    func create(_ name: String, in folder: Node, permissions: UInt32, flags: Int32, caller: Caller) async throws
        -> (Entry, OpenedFile)
    { throw FUSEError.accessDenied }
    func mkdir(_ name: String, in folder: Node, permissions: UInt32, caller: Caller) async throws -> Entry {
        throw FUSEError.accessDenied
    }
    func unlink(_ name: String, in folder: Node) async throws { throw FUSEError.accessDenied }
    func rmdir(_ name: String, in folder: Node) async throws { throw FUSEError.accessDenied }
    func rename(_ name: String, in folder: Node, to newName: String, in target: RenameTarget, flags: RenameFlags)
        async throws
    { throw FUSEError.accessDenied }
    func setattr(_ node: Node, changes: AttributeChanges, caller: Caller) async throws
        -> (FileAttributes, timeout: Double)
    { throw FUSEError.accessDenied }
    func fsync(_ node: Node) async throws {}
    func getxattr(_ name: String, of node: Node) async throws -> [UInt8] { throw FUSEError.noAttribute }
    func listxattr(of node: Node) async throws -> [String] { [] }
    func setxattr(_ name: String, value: [UInt8], flags: Int32, of node: Node) async throws {
        throw FUSEError.notSupported
    }
    func removexattr(_ name: String, of node: Node) async throws { throw FUSEError.notSupported }
    func referenced(_ node: Node) {}
    func forget(_ node: Node, lookups: UInt64) async {}
}
