import FUSEKit
import MediaCatalog

/// With a catalog shared by a fleet, other hosts change names under this mount: each change
/// they commit drops the names and attributes this host's kernel cached, so none outlives it.
extension MediaFileSystem {
    func follow(_ changes: AsyncStream<CatalogChange>) async {
        for await change in changes {
            if change.location == nil { folderTypes.forget(change.entryID) }
            await kernelCache.invalidateInode(Node.entryInode(change.entryID))
            for location in [change.location, change.previousLocation].compactMap({ $0 }) {
                let folder = Node.inode(of: location.folder)
                await kernelCache.invalidateEntry(parent: folder, name: location.name)
                await kernelCache.invalidateInode(folder)
            }
        }
    }
}
