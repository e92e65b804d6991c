import Foundation

/// The bytes of article folders' files: not a cache (nothing else holds them until the draft is
/// built, and the folder is the user's), so never evicted; one file per catalog id.
extension ContentCache {
    public func draftFilePath(id: Int64) -> String {
        root + "/drafts/\(id)"
    }

    /// Makes the spool file at `spoolPath` the bytes of draft file `id`.
    public func keepDraftFile(spoolPath: String, id: Int64) throws {
        guard rename(spoolPath, draftFilePath(id: id)) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// Makes `bytes` the bytes of draft file `id`, whole or not at all (a reader never sees
    /// half of them).
    public func writeDraftFile(_ bytes: [UInt8], id: Int64) throws {
        let temporary = root + "/drafts/.\(id)." + UUID().uuidString
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw POSIXError(.EIO)
        }
        guard rename(temporary, draftFilePath(id: id)) == 0 else {
            let code = POSIXErrorCode(rawValue: errno) ?? .EIO
            unlink(temporary)
            throw POSIXError(code)
        }
    }

    public func removeDraftFile(id: Int64) {
        unlink(draftFilePath(id: id))
    }
}
