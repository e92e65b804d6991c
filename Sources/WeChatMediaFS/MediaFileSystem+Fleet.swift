import FUSEKit
import MediaCatalog

/// With a catalog shared by a fleet, other hosts change names under this mount: each change
/// they commit drops the names and attributes this host's kernel cached, so none outlives it.
extension MediaFileSystem {
    func follow(_ changes: AsyncStream<CatalogChange>) async {
        for await change in changes {
            if change.location == nil { temporaryMedia.folderTypes.forget(change.entryID) }
            await kernelCache.invalidateInode(Node.entryInode(change.entryID))
            // The names, and the folders' attributes: their times change with their entries.
            // (The kernel keeps no listing: no cache_readdir.)
            for location in [change.location, change.previousLocation].compactMap({ $0 }) {
                await kernelCache.invalidateEntry(parent: Node.inode(of: location.folder), name: location.name)
                await kernelCache.invalidateInode(Node.inode(of: location.folder))
            }
        }
    }
}
