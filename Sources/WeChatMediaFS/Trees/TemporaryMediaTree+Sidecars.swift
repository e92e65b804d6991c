import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// A name `NAME.media_id`: the read-only file beside `NAME` that tells its upload's media id.
struct SidecarName {
    static let suffix = ".media_id"
    /// The sidecar's own name.
    let name: String
    /// The name of the file it belongs to.
    let fileName: String

    init?(_ name: String) {
        guard name.hasSuffix(Self.suffix) else { return nil }
        self.name = name
        self.fileName = String(name.dropLast(Self.suffix.count))
    }

    static func of(_ fileName: String) -> String { fileName + suffix }
}

/// Sidecars are derived, like the `user.wechat.*` xattrs: tools that copy or mirror a tree
/// (`cp -r` of a backup, `shutil.copytree`, `mv` across upload folders, `rsync --delete`) write
/// and remove them as if they were files. Creating, writing or removing the sidecar of a file
/// that exists is accepted and changes nothing: the sidecar goes on telling the real id. A
/// sidecar name whose file does not exist is refused (EACCES), as is renaming one. With
/// `--sidecars off` no sidecar is ever found, and every sidecar name created is a sink: `cp -r`
/// creates names with O_EXCL, which the kernel refuses for a name it found, before asking here.
/// Every operation of the tree asks here first when a name is a sidecar's.
extension TemporaryMediaTree {
    func lookup(_ sidecar: SidecarName, in folder: CatalogFolder) async throws -> Entry {
        if settings.sidecars == .off {
            guard discardedSidecars.contains(sidecar.name, in: folder) else { return .negative(timeout: 0) }
            let owner = try await owner(of: sidecar, in: folder)
            return Entry(
                attributes: try await discardedSidecarAttributes(owner?.id ?? 0), attributeTimeout: 0, entryTimeout: 0)
        }
        // Sidecars come and go with uploads, renames and deletes of their file: never cached.
        if let owner = try await expiry.entry(in: folder, named: sidecar.fileName),
            let uploaded = try await uploadedOwner(owner)
        {
            return Entry(attributes: sidecarAttributes(of: uploaded), attributeTimeout: 0, entryTimeout: 0)
        }
        return .negative(timeout: 0)
    }

    /// The sidecar a listing shows beside `child`. Listing never waits: a queued file's sidecar
    /// appears once its upload succeeded.
    func listedSidecar(of child: CatalogEntry) -> (name: String, attributes: FileAttributes)? {
        guard settings.sidecars == .visible, child.state == .uploaded, let id = child.id, queue.item(id) == nil
        else { return nil }
        return (SidecarName.of(child.name), sidecarAttributes(of: child))
    }

    func sidecarAttributes(ownerID id: Int64) async throws -> (FileAttributes, timeout: Double) {
        if settings.sidecars == .off { return (try await discardedSidecarAttributes(id), 0) }
        guard let owner = try await expiry.entry(id: id), let entry = try await uploadedOwner(owner) else {
            throw FUSEError.notFound
        }
        return (sidecarAttributes(of: entry), 0)
    }

    /// A create of a sidecar name: a handle whose writes are accepted and dropped, or nil when
    /// the name is not a sidecar's here (its file does not exist: the create is refused).
    func createSidecar(_ sidecar: SidecarName, in folder: CatalogFolder) async throws -> (Entry, OpenedFile)? {
        if settings.sidecars == .off {
            // Any sidecar name: at its file's sidecar inode, or a shared one when there is no such file.
            let owner = try await owner(of: sidecar, in: folder)
            let attributes = try await discardedSidecarAttributes(owner?.id ?? 0)
            discardedSidecars.remember(sidecar.name, in: folder)
            let handle = context.openFiles.register(.ignoredWrites([]))
            return (Entry(attributes: attributes, attributeTimeout: 0, entryTimeout: 0), OpenedFile(handle: handle))
        }
        guard let owner = try await owner(of: sidecar, in: folder) else { return nil }
        let handle = context.openFiles.register(.ignoredWrites(sidecarContent(of: owner)))
        return (
            Entry(attributes: sidecarAttributes(of: owner), attributeTimeout: 0, entryTimeout: 0),
            OpenedFile(handle: handle)
        )
    }

    func openSidecar(ownerID id: Int64, writing: Bool) async throws -> OpenedFile {
        if settings.sidecars == .off { return OpenedFile(handle: context.openFiles.register(.ignoredWrites([]))) }
        guard let owner = try await expiry.entry(id: id), let entry = try await uploadedOwner(owner) else {
            throw FUSEError.notFound
        }
        let content = sidecarContent(of: entry)
        return OpenedFile(handle: context.openFiles.register(writing ? .ignoredWrites(content) : .bytes(content)))
    }

    /// cp -a and rsync -a set the times and mode of the sidecars they copy: accepted, unchanged.
    func setattrSidecar(ownerID id: Int64) async throws -> (FileAttributes, timeout: Double) {
        if settings.sidecars == .off { return (try await discardedSidecarAttributes(id), 0) }
        guard let entry = try await expiry.entry(id: id), entry.state == .uploaded else { throw FUSEError.notFound }
        return (sidecarAttributes(of: entry), 0)
    }

    /// An unlink of a sidecar name: true when it is done (nothing changes), false when the name
    /// is to be removed as any other.
    func unlinkSidecar(_ sidecar: SidecarName, in parent: Node) async throws -> Bool {
        guard let folder = try? await catalogFolder(parent) else { return false }
        if settings.sidecars == .off, discardedSidecars.contains(sidecar.name, in: folder) {
            discardedSidecars.forget(sidecar.name, in: folder)
            return true
        }
        // rsync --delete and mv across folders remove the sidecars they see: accepted, unchanged.
        guard let owner = try await owner(of: sidecar, in: folder) else { return false }
        return owner.state == .uploaded
    }

    /// A rename of a sidecar name is refused when its file exists: mv of a tree across upload
    /// folders renames each name, sidecars too, and copies on EXDEV: a sidecar moves with its
    /// file or not at all.
    func refuseRenamingSidecar(_ sidecar: SidecarName, in parent: Node, to target: RenameTarget) async throws {
        guard let folder = try? await catalogFolder(parent),
            let owner = try await owner(of: sidecar, in: folder), owner.state == .uploaded
        else { return }
        var targetType: MediaType?
        if case .folder(let node) = target { targetType = try? await catalogFolder(node)?.type }
        throw targetType == folder.type ? FUSEError.accessDenied : FUSEError.crossDevice
    }

    /// Whether a name that is not found is the sidecar of a file here (a removal of it is EACCES).
    func isSidecarOfFile(_ name: String, in folder: CatalogFolder) async throws -> Bool {
        guard let sidecar = SidecarName(name),
            let owner = try await expiry.entry(in: folder, named: sidecar.fileName)
        else { return false }
        return owner.state == .uploaded
    }

    /// The file `NAME` of a sidecar name `NAME.media_id` in `folder`, if it is a file there.
    private func owner(of sidecar: SidecarName, in folder: CatalogFolder) async throws -> CatalogEntry? {
        let owner = try await expiry.entry(in: folder, named: sidecar.fileName)
        return owner?.isDirectory == false ? owner : nil
    }

    /// What a dropped sidecar looks like to the tool that wrote it: empty, read-only.
    private func discardedSidecarAttributes(_ ownerID: Int64) async throws -> FileAttributes {
        let owner = ownerID == 0 ? nil : try await expiry.entry(id: ownerID)
        let time = owner.map { timespec(nanoseconds: $0.changeTime) } ?? context.mountedAt
        return FileAttributes(
            inode: Node.sidecar(owner?.id ?? 0).inode, kind: .file, permissions: 0o444,
            uid: owner?.uid ?? settings.uid, gid: owner?.gid ?? settings.gid, size: 0, accessTime: time,
            modificationTime: time, changeTime: time)
    }

    func sidecarAttributes(of entry: CatalogEntry) -> FileAttributes {
        FileAttributes(
            inode: Node.sidecar(entry.id ?? 0).inode, kind: .file, permissions: 0o444, uid: entry.uid, gid: entry.gid,
            size: UInt64((entry.mediaID?.utf8.count ?? 0) + 1), accessTime: .init(nanoseconds: entry.accessTime),
            modificationTime: .init(nanoseconds: entry.changeTime), changeTime: .init(nanoseconds: entry.changeTime))
    }

    private func sidecarContent(of entry: CatalogEntry) -> [UInt8] {
        Array(((entry.mediaID ?? "") + "\n").utf8)
    }
}
