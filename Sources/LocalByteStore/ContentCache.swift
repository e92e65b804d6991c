import Foundation
import WeChatMedia

/// The bytes of media on local disk, one file per media id under `content/`, plus the spool files
/// of writes in progress under `spool/` and of closed files waiting for their upload under
/// `queue/` and `material-queue/`, and the files of article folders under `drafts/`. Folders are
/// 0700, files 0600.
public struct ContentCache: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        for folder in [root, root + "/content", root + "/spool", root + "/drafts"]
            + QueueFolder.allCases.map({ root + "/" + $0.rawValue })
        {
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

    /// A new spool file (0600) for a write in progress, open for reading and writing: empty, or
    /// holding a copy of the file open at `source`.
    public func openSpoolFile(copyingFrom source: Int32? = nil) throws -> (path: String, descriptor: Int32) {
        // 128 random bits from getrandom(2): Foundation's UUID opens /dev/urandom for each.
        let path =
            root + "/spool/" + String(UInt64.random(in: .min ... .max), radix: 36) + "-"
            + String(UInt64.random(in: .min ... .max), radix: 36)
        let descriptor = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        do {
            if let source { try Self.copy(source, to: descriptor) }
        } catch {
            close(descriptor)
            unlink(path)
            throw error
        }
        return (path, descriptor)
    }

    private static func copy(_ source: Int32, to destination: Int32) throws {
        var offset: off_t = 0
        var buffer = [UInt8](repeating: 0, count: 128 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(source, $0.baseAddress, $0.count, offset) }
            guard count >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            if count == 0 { return }
            let written = buffer.withUnsafeBytes { pwrite(destination, $0.baseAddress, count, offset) }
            guard written == count else {
                throw POSIXError(written < 0 ? POSIXErrorCode(rawValue: errno) ?? .EIO : .ENOSPC)
            }
            offset += off_t(count)
        }
    }

    /// Makes the spool file at `spoolPath` the content of `mediaID`.
    public func adopt(spoolPath: String, as mediaID: String) throws {
        guard rename(spoolPath, contentPath(for: mediaID)) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    public func removeContent(for mediaID: String) {
        unlink(contentPath(for: mediaID))
    }

    /// A cached file: its media id, size and when it was last read or written.
    public struct CachedFile: Sendable, Equatable {
        public var mediaID: String
        public var size: Int64
        public var lastUse: Int64
    }

    /// Every complete cached file (partial downloads excluded), for the size budget at start-up.
    public func cachedFiles() -> [CachedFile] {
        let folder = root + "/content"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap { name in
            guard !name.hasSuffix(".part"), let id = Self.mediaID(fromFileName: name) else { return nil }
            var info = stat()
            guard stat(folder + "/" + name, &info) == 0 else { return nil }
            return CachedFile(
                mediaID: id, size: Int64(info.st_size), lastUse: Int64(max(info.st_mtim.tv_sec, info.st_atim.tv_sec)))
        }
    }

    /// The size of the cache's file system.
    public func diskBytes() -> Int64 {
        var info = statvfs()
        guard statvfs(root, &info) == 0 else { return 0 }
        let (total, overflow) = Int64(info.f_blocks).multipliedReportingOverflow(by: Int64(info.f_frsize))
        return overflow ? .max : total
    }

    /// Bytes free on the cache's file system for an unprivileged writer.
    public func freeBytes() -> Int64 {
        var info = statvfs()
        guard statvfs(root, &info) == 0 else { return .max }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Deletes partial downloads left by a process that died: they are never served as whole.
    public func removePartialDownloads() {
        let folder = root + "/content"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".part") {
            unlink(folder + "/" + name)
        }
    }

    /// Deletes spool files left by a process that died.
    public func removeStaleSpoolFiles() {
        let folder = root + "/spool"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            unlink(folder + "/" + name)
        }
    }

    static func mediaID(fromFileName name: String) -> String? {
        guard name.hasPrefix("%") else { return name }
        // Hex-encoded ids: pairs of hex digits after a "%", which no plain id contains.
        var bytes: [UInt8] = []
        var index = name.index(after: name.startIndex)
        while index < name.endIndex {
            let next = name.index(index, offsetBy: 2, limitedBy: name.endIndex) ?? name.endIndex
            guard let byte = UInt8(name[index..<next], radix: 16) else { return name }
            bytes.append(byte)
            index = next
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Media ids are `[A-Za-z0-9_-]`; anything else is hex-encoded so no id can name a path.
    static func fileName(for mediaID: String) -> String {
        guard !OpaqueID.isWellFormed(mediaID, maxLength: 255) else { return mediaID }
        let hex = Array("0123456789abcdef")
        return "%" + String(mediaID.utf8.flatMap { [hex[Int($0 >> 4)], hex[Int($0 & 0xF)]] })
    }
}
