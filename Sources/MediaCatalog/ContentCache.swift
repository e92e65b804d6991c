import Foundation

/// The bytes of media on local disk, one file per media id under `content/`, plus the spool files
/// of writes in progress under `spool/`. Folders are 0700, files 0600.
public struct ContentCache: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        for folder in [root, root + "/content", root + "/spool"] {
            try FileManager.default.createDirectory(
                atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            chmod(folder, 0o700)
        }
    }

    /// Where the bytes of `mediaID` live (whether or not they are there yet).
    public func contentPath(for mediaID: String) -> String {
        root + "/content/" + Self.fileName(for: mediaID)
    }

    public func hasContent(for mediaID: String) -> Bool {
        FileManager.default.fileExists(atPath: contentPath(for: mediaID))
    }

    /// A new, empty spool file (0600) for a write in progress.
    public func makeSpoolFile() throws -> String {
        let path = root + "/spool/" + UUID().uuidString
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        close(fd)
        return path
    }

    /// Makes the spool file at `spoolPath` the content of `mediaID`.
    public func adopt(spoolPath: String, as mediaID: String) throws {
        guard rename(spoolPath, contentPath(for: mediaID)) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    public func removeContent(for mediaID: String) {
        unlink(contentPath(for: mediaID))
    }

    /// Deletes spool files left by a process that died.
    public func removeStaleSpoolFiles() {
        let folder = root + "/spool"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            unlink(folder + "/" + name)
        }
    }

    /// Media ids are `[A-Za-z0-9_-]`; anything else is hex-encoded so no id can name a path.
    static func fileName(for mediaID: String) -> String {
        let safe =
            !mediaID.isEmpty
            && mediaID.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
        return safe ? mediaID : "x" + mediaID.utf8.map { String($0, radix: 16) }.joined()
    }
}
