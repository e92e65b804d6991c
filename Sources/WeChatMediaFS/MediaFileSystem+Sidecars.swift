import FUSEKit
import MediaCatalog

#if canImport(Glibc)
import Glibc
#endif

/// Sidecars are derived, like the `user.wechat.*` xattrs: tools that copy or mirror a tree
/// (`cp -r` of a backup, `shutil.copytree`, `mv` across upload folders, `rsync --delete`) write
/// and remove them as if they were files. Creating, writing or removing the sidecar of a file
/// that exists is accepted and changes nothing: the sidecar goes on telling the real id. A
/// sidecar name whose file does not exist is refused (EACCES), as is renaming one. With
/// `--sidecars off` no sidecar is ever found, and every sidecar name created is a sink: `cp -r`
/// creates names with O_EXCL, which the kernel refuses for a name it found, before asking here.
extension MediaFileSystem {
    /// The file `NAME` of a sidecar name `NAME.media_id` in `folder`, if it is a file there.
    func owner(ofSidecarNamed name: String, in folder: CatalogFolder) async throws -> CatalogEntry? {
        guard name.hasSuffix(sidecarSuffix) else { return nil }
        let owner = try await liveEntry(in: folder, named: String(name.dropLast(sidecarSuffix.count)))
        return owner?.isDirectory == false ? owner : nil
    }

    /// With `--sidecars off`: a create of any sidecar name gives a handle whose writes are
    /// dropped, at its file's sidecar inode, or a shared one when there is no such file.
    func createDiscardedSidecar(named name: String, in folder: CatalogFolder) async throws -> (Entry, OpenedFile) {
        let owner = try await owner(ofSidecarNamed: name, in: folder)
        let attributes = try await discardedSidecarAttributes(owner?.id ?? 0)
        discardedSidecars.remember(name, in: folder)
        let handle = openFiles.register(.ignoredWrites([]))
        return (Entry(attributes: attributes, attributeTimeout: 0, entryTimeout: 0), OpenedFile(handle: handle))
    }

    /// What a dropped sidecar looks like to the tool that wrote it: empty, read-only.
    func discardedSidecarAttributes(_ ownerID: Int64) async throws -> FileAttributes {
        let owner = ownerID == 0 ? nil : try await liveEntry(id: ownerID)
        let time = owner.map { timespec(nanoseconds: $0.changeTime) } ?? mountedAt
        return FileAttributes(
            inode: Node.sidecar(owner?.id ?? 0).inode, kind: .file, permissions: 0o444, uid: owner?.uid ?? settings.uid,
            gid: owner?.gid ?? settings.gid, size: 0, accessTime: time, modificationTime: time, changeTime: time)
    }

    /// A create of `NAME.media_id` next to `NAME`: a handle whose writes are accepted and dropped.
    func createSidecar(of owner: CatalogEntry) -> (Entry, OpenedFile) {
        let attributes = sidecarAttributes(of: owner)
        let handle = openFiles.register(.ignoredWrites(sidecarContent(of: owner)))
        return (Entry(attributes: attributes, attributeTimeout: 0, entryTimeout: 0), OpenedFile(handle: handle))
    }
}
