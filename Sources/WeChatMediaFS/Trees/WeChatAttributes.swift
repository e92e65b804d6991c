import Foundation
import WeChatMedia

/// The `user.wechat.*` extended attributes, derived from an upload and never stored: how every
/// tree names and formats them.
enum WeChatAttributes {
    static let prefix = "user.wechat."

    static func isWeChat(_ name: String) -> Bool { name.hasPrefix(prefix) }

    /// What tells a media id: the id, its type, when it was made and when it expires.
    static func media(_ mediaID: String, type: MediaType?, createdAt: Int64, expiresAt: Int64) -> [String: String] {
        var attributes = [
            prefix + "media_id": mediaID, prefix + "created_at": iso8601(createdAt),
            prefix + "expires_at": iso8601(expiresAt),
        ]
        if let type { attributes[prefix + "type"] = type.rawValue }
        return attributes
    }

    /// What tells a permanent material: its id (none for an article image), its URL (images),
    /// and when the server last changed it.
    static func material(mediaID: String?, url: String?, updateTime: Int64?) -> [String: String] {
        var attributes: [String: String] = [:]
        if let mediaID { attributes[prefix + "media_id"] = mediaID }
        if let url { attributes[prefix + "url"] = url }
        if let updateTime { attributes[prefix + "update_time"] = iso8601(updateTime) }
        return attributes
    }

    /// A material folder's fill: how many the library holds and its cap.
    static func materialFolder(count: Int?, limit: Int?) -> [String: String] {
        var attributes: [String: String] = [:]
        if let count { attributes[prefix + "count"] = String(count) }
        if let limit { attributes[prefix + "limit"] = String(limit) }
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
