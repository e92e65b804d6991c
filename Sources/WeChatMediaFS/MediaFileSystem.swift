import FUSEKit
import Foundation
import LocalByteStore
import Logging
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// The mount's namespace: a root folder that composes trees (`MediaTree`), each with its own
/// folders and rules: today the temporary-media folders `/image /voice /video /thumb` and
/// `/by-id/`, the permanent material library `/material/`, and the article folders `/drafts/`
/// and `/published/`. It maps each inode to its tree (`Node`), keeps the open handles, and runs what
/// belongs to the mount as a whole (recovery, maintenance, shutdown, status). It knows nothing
/// of libfuse (FUSEKit calls it with inode numbers), and reaches storage, WeChat and the time
/// only through what it is given: a `Catalog`, a `MediaService` and a `MountClock`, so tests
/// call it directly, without root or a mount.
public final class MediaFileSystem: FileSystem {
    let context: MountContext
    let temporaryMedia: TemporaryMediaTree
    let byID: ByIDTree
    /// `/material/`, when the mount was given the material service and its catalog keeps material.
    let material: MaterialTree?
    /// `/drafts/` and `/published/`, when the mount has `/material/`, the draft service and a
    /// catalog that keeps article folders.
    let drafts: DraftsTree?
    /// Every tree, in the order the root lists their folders.
    private let trees: [any MediaTree]
    /// The root's folders, each with its tree, in listing order.
    private let topFolders: [(name: String, node: Node, tree: any MediaTree)]

    /// Transfers in flight and recent failures, for `wxmediafs status`.
    public var activity: MountActivity { context.activity }
    /// Where to tell the kernel that a cached name changed (connected when mounted).
    public var kernelCache: KernelCache { context.kernelCache }

    public init(
        catalog: any Catalog, cache: ContentCache, service: any MediaService,
        material materialService: (any MaterialService)? = nil, drafts draftService: (any DraftService)? = nil,
        settings: MountSettings,
        clock: any MountClock = SystemClock(), logger: Logger
    ) {
        let context = MountContext(
            catalog: catalog, cache: cache, service: service, material: materialService, settings: settings,
            clock: clock, logger: logger)
        self.context = context
        self.temporaryMedia = TemporaryMediaTree(context: context)
        self.byID = ByIDTree(context: context)
        if let materialService, let materialCatalog = catalog as? any MaterialCatalog {
            self.material = MaterialTree(context: context, service: materialService, catalog: materialCatalog)
        } else {
            self.material = nil
        }
        if let material, let draftService, let draftCatalog = catalog as? any DraftCatalog {
            self.drafts = DraftsTree(context: context, catalog: draftCatalog, service: draftService, material: material)
        } else {
            self.drafts = nil
        }
        let trees: [any MediaTree] =
            [temporaryMedia, byID] + (material.map { [$0] } ?? []) + (drafts.map { [$0] } ?? [])
        self.trees = trees
        self.topFolders = trees.flatMap { tree in tree.topFolders.map { ($0.name, $0.node, tree) } }
    }

    /// The tree `node` belongs to; nil for the root, which is the namespace's own.
    func tree(of node: Node) -> (any MediaTree)? {
        trees.first { $0.owns(node) }
    }

    /// The tree of an inode, or the errno for an inode no tree has: `unknown` for a number
    /// that names nothing, `root` for the root.
    func tree(of inode: Inode, unknown: FUSEError = .notFound, root: FUSEError) throws
        -> (node: Node, tree: any MediaTree)
    {
        guard let node = Node(inode) else { throw unknown }
        guard let tree = tree(of: node) else { throw root }
        return (node, tree)
    }

    // MARK: The root

    private var rootAttributes: FileAttributes { context.fixedFolderAttributes(.root, permissions: 0o555) }

    // MARK: Lookup and attributes

    public func lookup(parent: Inode, name: String) async throws -> Entry {
        guard let node = Node(parent) else { throw FUSEError.notFound }
        guard let tree = tree(of: node) else {
            if let top = topFolders.first(where: { $0.name == name }) {
                return context.entry(try await top.tree.attributes(of: top.node).0)
            }
            // The root's children never change: desktop probes (.Trash, .xdg-volume-info,
            // autorun.inf, .hidden) are answered once.
            return .negative(timeout: context.settings.fixedNegativeTimeout)
        }
        return try await tree.lookup(name, in: node)
    }

    public func getattr(inode: Inode) async throws -> (FileAttributes, timeout: Double) {
        guard let node = Node(inode) else { throw FUSEError.notFound }
        guard let tree = tree(of: node) else { return (rootAttributes, context.settings.cacheTimeout) }
        return try await tree.attributes(of: node)
    }

    public func setattr(inode: Inode, changes: AttributeChanges, caller: Caller) async throws -> (
        FileAttributes, timeout: Double
    ) {
        guard let node = Node(inode) else { throw FUSEError.notFound }
        guard let tree = tree(of: node) else {
            // The root keeps its attributes; rsync -a and cp -a set them and must not fail.
            guard changes.size == nil else { throw FUSEError.isDirectory }
            return (rootAttributes, context.settings.cacheTimeout)
        }
        return try await tree.setattr(node, changes: changes, caller: caller)
    }

    public func statfs(inode: Inode) async throws -> FilesystemStatistics {
        // Uploads go to the server, so local space does not bound them: report plenty.
        FilesystemStatistics(
            blockSize: 4096, totalBlocks: 1 << 32, freeBlocks: 1 << 31, totalFiles: 1 << 32, freeFiles: 1 << 31,
            maxNameLength: 255)
    }

    // MARK: Listings

    /// Listing offsets 1 and 2 are "." and ".."; the root's folders follow at 3, 4, ...; in a
    /// tree's folder, the tree chooses offsets past 2 that stay valid as names come and go.
    public func readdir(inode: Inode, handle: UInt64, offset: Int64) async throws -> [DirectoryEntry] {
        guard let node = Node(inode) else { throw FUSEError.notFound }
        let tree = tree(of: node)
        var result: [DirectoryEntry] = []
        if offset < 1 {
            let own = try await tree?.attributes(of: node).0 ?? rootAttributes
            result.append(DirectoryEntry(name: ".", attributes: own, offset: 1))
        }
        if offset < 2 { result.append(DirectoryEntry(name: "..", attributes: rootAttributes, offset: 2)) }
        guard let tree else {
            for (index, top) in topFolders.enumerated() where Int64(index + 3) > offset {
                result.append(
                    DirectoryEntry(
                        name: top.name, attributes: try await top.tree.attributes(of: top.node).0,
                        offset: Int64(index + 3)))
            }
            return result
        }
        return result + (try await tree.listing(of: node, past: offset))
    }

    // MARK: Names

    public func create(parent: Inode, name: String, permissions: UInt32, flags: Int32, caller: Caller) async throws -> (
        Entry, OpenedFile
    ) {
        let (folder, tree) = try tree(of: parent, root: .readOnly)
        return try await tree.create(name, in: folder, permissions: permissions, flags: flags, caller: caller)
    }

    public func mkdir(parent: Inode, name: String, permissions: UInt32, caller: Caller) async throws -> Entry {
        let (folder, tree) = try tree(of: parent, root: .readOnly)
        return try await tree.mkdir(name, in: folder, permissions: permissions, caller: caller)
    }

    public func unlink(parent: Inode, name: String) async throws {
        let (folder, tree) = try tree(of: parent, unknown: .notDirectory, root: rootRefusal(of: name))
        try await tree.unlink(name, in: folder)
    }

    public func rmdir(parent: Inode, name: String) async throws {
        let (folder, tree) = try tree(of: parent, unknown: .notDirectory, root: rootRefusal(of: name))
        try await tree.rmdir(name, in: folder)
    }

    /// A rename stays in its tree: another tree, like the root, is another filesystem to `mv`
    /// (EXDEV), which then copies and removes, each step asking the target's own rules.
    public func rename(parent: Inode, name: String, newParent: Inode, newName: String, flags: RenameFlags) async throws
    {
        guard !flags.contains(.exchange) else { throw FUSEError.invalid }
        let (folder, tree) = try tree(of: parent, unknown: .notDirectory, root: rootRefusal(of: name))
        let target: RenameTarget
        switch Node(newParent) {
        case nil: target = .refused(.notFound)
        case let node? where tree.owns(node): target = .folder(node)
        case _?: target = .refused(.crossDevice)
        }
        try await tree.rename(name, in: folder, to: newName, in: target, flags: flags)
    }

    /// What removing or renaming `name` in the root answers: its folders are the mount's own.
    private func rootRefusal(of name: String) -> FUSEError {
        topFolders.contains { $0.name == name } ? .readOnly : .notFound
    }

    // MARK: Extended attributes

    /// Only `user.*` attributes exist here: security.* (SELinux labels) and system.* (ACLs) are
    /// not supported, which FUSEKit answers without a task or a query.
    public func keepsAttribute(named name: String) -> Bool {
        name.hasPrefix("user.")
    }

    public func getxattr(inode: Inode, name: String) async throws -> [UInt8] {
        guard keepsAttribute(named: name) else { throw FUSEError.notSupported }
        guard let node = Node(inode) else { throw FUSEError.noAttribute }
        guard let tree = tree(of: node) else {
            guard name == MountStatus.socketAttribute, let path = context.settings.statusSocketPath else {
                throw FUSEError.noAttribute
            }
            return Array(path.utf8)
        }
        return try await tree.getxattr(name, of: node)
    }

    public func listxattr(inode: Inode) async throws -> [String] {
        guard let node = Node(inode), let tree = tree(of: node) else { return [] }
        return try await tree.listxattr(of: node)
    }

    public func setxattr(inode: Inode, name: String, value: [UInt8], flags: Int32) async throws {
        let (node, tree) = try tree(of: inode, root: .notSupported)
        guard keepsAttribute(named: name) else { throw FUSEError.notSupported }
        try await tree.setxattr(name, value: value, flags: flags, of: node)
    }

    public func removexattr(inode: Inode, name: String) async throws {
        guard let node = Node(inode), let tree = tree(of: node) else { throw FUSEError.notSupported }
        try await tree.removexattr(name, of: node)
    }

    // MARK: The kernel's references

    public func referenced(inode: Inode) {
        guard let node = Node(inode) else { return }
        tree(of: node)?.referenced(node)
    }

    public func forget(inode: Inode, lookups: UInt64) async {
        guard let node = Node(inode) else { return }
        await tree(of: node)?.forget(node, lookups: lookups)
    }
}
