import FUSEKit
import MediaCatalog

#if canImport(Glibc)
import Glibc
#endif

/// Sidecars are derived, like the `user.wechat.*` xattrs: tools that copy or mirror a tree
/// (`cp -r` of a backup, `shutil.copytree`, `mv` across upload folders, `rsync --delete`) write
/// and remove them as if they were files. Creating, writing or removing the sidecar of a file
/// that exists is accepted and changes nothing: the sidecar goes on telling the real id. A
/// sidecar name whose file does not exist is refused (EACCES), as is renaming one.
extension MediaFileSystem {
    /// The file `NAME` of a sidecar name `NAME.media_id` in `folder`, if it is a file there.
    func owner(ofSidecarNamed name: String, in folder: CatalogFolder) async throws -> CatalogEntry? {
        guard name.hasSuffix(sidecarSuffix) else { return nil }
        let owner = try await liveEntry(in: folder, named: String(name.dropLast(sidecarSuffix.count)))
        return owner?.isDirectory == false ? owner : nil
    }

    /// A create of `NAME.media_id` next to `NAME`: a handle whose writes are accepted and dropped.
    func createSidecar(of owner: CatalogEntry) -> (Entry, OpenedFile) {
        let attributes = sidecarAttributes(of: owner)
        let handle = openFiles.register(.ignoredWrites(sidecarContent(of: owner)))
        return (Entry(attributes: attributes, attributeTimeout: 0, entryTimeout: 0), OpenedFile(handle: handle))
    }
}
