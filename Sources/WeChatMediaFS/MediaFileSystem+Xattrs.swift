import FUSEKit
import Foundation
import MediaCatalog
import WeChatMedia

/// `user.wechat.*` describe an upload (read-only); other `user.*` attributes are kept in the
/// catalog so `cp -a`, `cp --preserve=all` and `rsync -X` succeed.
extension MediaFileSystem {
    private static let wechatPrefix = "user.wechat."
    // <sys/xattr.h> values, which Glibc's module does not export.
    private static let createOnly: Int32 = 1
    private static let replaceOnly: Int32 = 2

    /// Only `user.*` attributes exist here: security.* (SELinux labels) and system.* (ACLs) are
    /// not supported, which FUSEKit answers without a task or a query.
    public func keepsAttribute(named name: String) -> Bool {
        name.hasPrefix("user.")
    }

    public func getxattr(inode: Inode, name: String) async throws -> [UInt8] {
        guard keepsAttribute(named: name) else { throw FUSEError.notSupported }
        if Node(inode) == .root, name == MountStatus.socketAttribute, let path = settings.statusSocketPath {
            return Array(path.utf8)
        }
        if name.hasPrefix(Self.wechatPrefix) {
            guard let value = try await wechatAttributes(of: inode)[name] else { throw FUSEError.noAttribute }
            return Array(value.utf8)
        }
        guard case .entry(let id) = Node(inode), let value = try await catalog.xattrs(of: id)[name] else {
            throw FUSEError.noAttribute
        }
        return value
    }

    public func listxattr(inode: Inode) async throws -> [String] {
        var names = try await wechatAttributes(of: inode).keys.sorted()
        if case .entry(let id) = Node(inode) { names += try await catalog.xattrs(of: id).keys.sorted() }
        return names
    }

    public func setxattr(inode: Inode, name: String, value: [UInt8], flags: Int32) async throws {
        // On an upload folder, which its owner may write (the root is read-only: 0555).
        if case .typeFolder = Node(inode), name == MountStatus.releaseQueueAttribute {
            return try await releaseQueue(ofHost: String(decoding: value, as: UTF8.self))
        }
        guard case .entry(let id) = Node(inode), try await liveEntry(id: id) != nil else {
            throw Node(inode) == nil ? FUSEError.notFound : FUSEError.notSupported
        }
        guard name.hasPrefix("user.") else { throw FUSEError.notSupported }
        // Derived from the upload, so not stored; accepted so that cp -a and mv between folders,
        // which copy every attribute, do not fail on them.
        guard !name.hasPrefix(Self.wechatPrefix) else { return }
        let existing = try await catalog.xattrs(of: id)[name]
        if flags & Self.createOnly != 0, existing != nil { throw FUSEError.exists }
        if flags & Self.replaceOnly != 0, existing == nil { throw FUSEError.noAttribute }
        try await catalog.setXattr(of: id, name: name, value: value)
    }

    public func removexattr(inode: Inode, name: String) async throws {
        guard case .entry(let id) = Node(inode) else { throw FUSEError.notSupported }
        // Derived from the upload: removing one changes nothing, and succeeds, because rsync -X
        // removes from its temporary file every attribute the source lacks.
        guard !name.hasPrefix(Self.wechatPrefix) else { return }
        guard try await catalog.removeXattr(of: id, name: name) else { throw FUSEError.noAttribute }
    }

    /// `wxmediafs release-queue`: gives up the names a stopped fleet host's queue holds.
    private func releaseQueue(ofHost host: String) async throws {
        let released = try await refusalsAsErrno { try await catalog.releaseQueue(ofHost: host) }
        logger.warning(
            "released \(released) queued file(s) of stopped host \(host): their names are gone for the fleet; their bytes were never uploaded and stay only in that host's cache dir, which its next mount discards"
        )
    }

    /// The media id, type and times of an uploaded entry or a `/by-id/` file.
    private func wechatAttributes(of inode: Inode) async throws -> [String: String] {
        let mediaID: String
        let type: MediaType?
        let createdAt: Int64
        var attributes: [String: String] = [:]
        switch Node(inode) {
        case .entry(let id):
            guard let entry = try await liveEntry(id: id), !entry.isDirectory else { return [:] }
            // Where the file's upload is: queued|uploading|failed (with why), uploaded, or a
            // placeholder never uploaded. Its id shows once the server has its current bytes.
            let queued = uploadQueue.item(id)
            attributes[Self.wechatPrefix + "state"] = queued?.phase.rawValue ?? entry.state.rawValue
            if let failure = queued?.failure?.display {
                attributes[Self.wechatPrefix + "error"] = Self.describe(failure)
            }
            if queued == nil, entry.state == .queued, let holder = try await catalog.queueHolder(of: id) {
                // Another host's queue, listed here only once that host stopped.
                attributes[Self.wechatPrefix + "state"] =
                    "queued on host \(holder.host)" + (holder.running ? "" : ", which is not running")
            }
            guard queued == nil, entry.state == .uploaded, let id = entry.mediaID, let created = entry.createdAt else {
                return attributes
            }
            (mediaID, type, createdAt) = (id, entry.type, created)
        case .byID(let number):
            guard let id = byIDInodes.mediaID(for: number), let media = try await liveKnownMedia(id) else {
                return [:]
            }
            (mediaID, type, createdAt) = (id, media.type, media.bornAt)
        default:
            return [:]
        }
        attributes[Self.wechatPrefix + "media_id"] = mediaID
        attributes[Self.wechatPrefix + "created_at"] = Self.iso8601(createdAt)
        attributes[Self.wechatPrefix + "expires_at"] = Self.iso8601(expiry(bornAt: createdAt))
        if let type { attributes[Self.wechatPrefix + "type"] = type.rawValue }
        return attributes
    }

    /// "EIO (errcode 45009, reach max api daily quota limit)": the upload's errno and the
    /// server's words, as `wxmediafs status` shows them.
    static func describe(_ failure: MountStatus.Failure) -> String {
        "\(failure.errno) (" + (failure.errcode.map { "errcode \($0), " } ?? "") + failure.errmsg + ")"
    }

    static func iso8601(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
