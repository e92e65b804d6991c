import FUSEKit
import MediaCatalog

/// What `setattr` changes on a name of any tree kept in the catalog: its mode, owner and times
/// (nanoseconds since 1970). One rule for every such tree.
protocol FileMetadata {
    var mode: UInt32 { get set }
    var uid: UInt32 { get set }
    var gid: UInt32 { get set }
    var accessTime: Int64 { get set }
    var modificationTime: Int64 { get set }
    var changeTime: Int64 { get set }
}

extension CatalogEntry: FileMetadata {}
extension MaterialEntry: FileMetadata {}

extension FileMetadata {
    /// Applies what `changes` sets, at time `now`: truncate(2) and ftruncate(2) change the file,
    /// so a size change sets the mtime unless one is given (POSIX); any change sets the ctime.
    mutating func apply(_ changes: AttributeChanges, now: Int64) {
        if let permissions = changes.permissions { mode = permissions }
        if let uid = changes.uid { self.uid = uid }
        if let gid = changes.gid { self.gid = gid }
        if let time = changes.accessTime { accessTime = time.nanoseconds }
        if let time = changes.modificationTime {
            modificationTime = time.nanoseconds
        } else if changes.size != nil {
            modificationTime = now
        }
        changeTime = now
    }
}
