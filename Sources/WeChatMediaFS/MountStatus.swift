import Foundation

/// The answer to `wxmediafs status`: sent as JSON over the mount's status socket.
public struct MountStatus: Codable, Sendable {
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
    }

    public struct Requests: Codable, Sendable {
        public var kind: String
        public var sent: Int
        public var failed: Int
    }

    public var mountpoint: String
    public var apiBase: String
    public var startedAt: Date
    public var transfers: [Transfer]
    public var recentFailures: [Failure]
    public var cacheBytes: Int64
    public var cacheMaxBytes: Int64
    /// Seconds since the access token in use was obtained; nil before the first request. Never the token.
    public var tokenAgeSeconds: Double?
    public var requests: [Requests]
    public var uploadsInFlight: Int
}
