import Foundation
import MediaCatalog

/// The answer to `wxmediafs status`: sent as JSON over the mount's status socket.
public struct MountStatus: Codable, Sendable {
    /// The mount root's attribute naming the status socket (not listed: it is not the user's).
    public static let socketAttribute = "user.wechat.status_socket"
    /// Set on an upload folder (`image/`) to a stopped host's key: releases that host's queued
    /// files, in every folder.
    public static let releaseQueueAttribute = "user.wechat.release_queue"

    public struct Transfer: Codable, Sendable {
        public enum Kind: String, Codable, Sendable { case upload, download }
        public var kind: Kind
        /// The path in the mount (`video/clip.mp4`, `by-id/ID`).
        public var name: String
        public var bytesDone: Int64
        public var bytesTotal: Int64?
        public var startedAt: Date
    }

    public struct Failure: Codable, Sendable {
        public var at: Date
        public var operation: String
        public var name: String
        public var errno: String
        public var errcode: Int?
        public var errmsg: String
        /// When a queued upload that failed for a reason that may pass is tried again by itself.
        public var retryAt: Date? = nil

        /// "upload image/a.png: EINVAL (errcode 40005, invalid file type)": the words of both the
        /// log line and `wxmediafs status`.
        public var summary: String {
            let code = errcode.map { "errcode \($0), " } ?? ""
            return "\(operation) \(name): \(errno) (\(code)\(errmsg))"
        }

        /// The summary, and when it is tried again if it is: the words of `status` and `sync`.
        public var summaryWithRetry: String {
            guard let retryAt else { return summary }
            return summary + "; " + Self.triedAgain(at: retryAt)
        }

        /// "tried again by itself at TIME": `status`, `sync` and the log say it alike.
        public static func triedAgain(at date: Date) -> String {
            "tried again by itself at \(date.formatted(.iso8601))"
        }
    }

    /// One API's daily quota as the server last told it (`wxmediafs status` asks at most once a minute).
    public struct Quota: Codable, Sendable, Equatable {
        /// "upload" or "download".
        public var kind: String
        public var cgiPath: String
        public var dailyLimit: Int64?
        public var used: Int64?
        public var remain: Int64?
        public var askedAt: Date
        /// Why the server gave no numbers ("errcode 48001, api unauthorized", a refused connection).
        public var error: String?
    }

    /// How full one type of the permanent material library is (thumbs count with images).
    public struct MaterialFill: Codable, Sendable, Equatable {
        public var type: String
        public var count: Int
        public var limit: Int
    }

    /// An article folder that is not simply built: waiting, building, failed, or publishing.
    public struct Draft: Codable, Sendable, Equatable {
        /// Its path in the mount ("drafts/cat-week").
        public var path: String
        public var state: String
        /// What it waits for, or why it failed.
        public var reason: String?
    }

    public struct Requests: Codable, Sendable {
        public var kind: String
        public var sent: Int
        public var failed: Int
    }

    public var mountpoint: String
    /// The daemon's process id: `wxmediafs unmount` waits for it to exit.
    public var pid: Int32?
    public var apiBase: String
    public var startedAt: Date
    public var transfers: [Transfer]
    public var recentFailures: [Failure]
    public var cacheBytes: Int64
    public var cacheMaxBytes: Int64
    /// Seconds since the access token in use was obtained; nil before the first request. Never the token.
    public var tokenAgeSeconds: Double?
    public var requests: [Requests]
    /// Where the catalog is and whether it answers (nil from a version before the fleet catalog).
    public var catalog: CatalogHealth? = nil
    /// The daily quotas of uploads and downloads; nil from a mount that does not ask.
    public var quota: [Quota]? = nil
    /// Where the mount serves Prometheus metrics; nil when it does not.
    public var metricsURL: String? = nil
    /// `sync` or `background` (nil from a version before the background queue).
    public var uploadMode: UploadMode? = nil
    /// What waits for upload, and what failed (nil from a version before the background queue).
    public var uploadQueue: UploadQueueStatus? = nil
    /// Queued files of fleet hosts that stopped (nil from a version before it).
    public var stoppedHostsQueues: [ForeignQueue]? = nil
    /// The material library's counts and caps, once the mount asked (nil before, or from a
    /// version without `/material/`).
    public var material: [MaterialFill]? = nil
    /// Article folders that are not built or are publishing (nil from a version without `/drafts/`).
    public var drafts: [Draft]? = nil
}

/// The JSON the status socket sends (`WireFormat`).
extension MountStatus {
    public func json() throws -> [UInt8] { try WireFormat.encode(self) }

    public init(json: [UInt8]) throws { self = try WireFormat.decode(MountStatus.self, from: json) }
}
