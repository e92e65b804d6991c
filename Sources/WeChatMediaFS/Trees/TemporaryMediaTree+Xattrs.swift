import FUSEKit
import Foundation
import MediaCatalog
import WeChatMedia

/// `user.wechat.*` describe an upload (read-only); other `user.*` attributes are kept in the
/// catalog so `cp -a`, `cp --preserve=all` and `rsync -X` succeed.
extension TemporaryMediaTree {
    // <sys/xattr.h> values, which Glibc's module does not export.
    private static let createOnly: Int32 = 1
    private static let replaceOnly: Int32 = 2

    func getxattr(_ name: String, of node: Node) async throws -> [UInt8] {
        if WeChatAttributes.isWeChat(name) {
            guard let value = try await wechatAttributes(of: node)[name] else { throw FUSEError.noAttribute }
            return Array(value.utf8)
        }
        guard case .entry(let id) = node, let value = try await catalog.xattrs(of: id)[name] else {
            throw FUSEError.noAttribute
        }
        return value
    }

    func listxattr(of node: Node) async throws -> [String] {
        var names = try await wechatAttributes(of: node).keys.sorted()
        if case .entry(let id) = node { names += try await catalog.xattrs(of: id).keys.sorted() }
        return names
    }

    func setxattr(_ name: String, value: [UInt8], flags: Int32, of node: Node) async throws {
        // On an upload folder, which its owner may write (the root is read-only: 0555).
        if case .typeFolder = node, name == MountStatus.releaseQueueAttribute {
            return try await releaseQueue(ofHost: String(decoding: value, as: UTF8.self))
        }
        guard case .entry(let id) = node, try await expiry.entry(id: id) != nil else {
            throw FUSEError.notSupported
        }
        // Derived from the upload, so not stored; accepted so that cp -a and mv between folders,
        // which copy every attribute, do not fail on them.
        guard !WeChatAttributes.isWeChat(name) else { return }
        let existing = try await catalog.xattrs(of: id)[name]
        if flags & Self.createOnly != 0, existing != nil { throw FUSEError.exists }
        if flags & Self.replaceOnly != 0, existing == nil { throw FUSEError.noAttribute }
        try await catalog.setXattr(of: id, name: name, value: value)
    }

    func removexattr(_ name: String, of node: Node) async throws {
        guard case .entry(let id) = node else { throw FUSEError.notSupported }
        // Derived from the upload: removing one changes nothing, and succeeds, because rsync -X
        // removes from its temporary file every attribute the source lacks.
        guard !WeChatAttributes.isWeChat(name) else { return }
        guard try await catalog.removeXattr(of: id, name: name) else { throw FUSEError.noAttribute }
    }

    /// `wxmediafs release-queue`: gives up the names a stopped fleet host's queue holds.
    private func releaseQueue(ofHost host: String) async throws {
        let released = try await refusalsAsErrno { try await catalog.releaseQueue(ofHost: host) }
        context.logger.warning(
            "released \(released) queued file(s) of stopped host \(host): their names are gone for the fleet; their bytes were never uploaded and stay only in that host's cache dir, which its next mount discards"
        )
    }

    /// Where an entry's upload is, and once the server has its current bytes, its media id,
    /// type and times.
    private func wechatAttributes(of node: Node) async throws -> [String: String] {
        guard case .entry(let id) = node, let entry = try await expiry.entry(id: id), !entry.isDirectory else {
            return [:]
        }
        let (attributes, showsMediaID) = try await uploadState(of: entry, id: id)
        guard showsMediaID, let mediaID = entry.mediaID, let created = entry.createdAt else { return attributes }
        return attributes.merging(
            WeChatAttributes.media(
                mediaID, type: entry.type, createdAt: created, expiresAt: expiry.expiry(bornAt: created)),
            uniquingKeysWith: { _, new in new })
    }
}
