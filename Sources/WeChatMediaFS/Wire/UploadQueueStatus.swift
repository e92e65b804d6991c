/// The background queue as `wxmediafs status` and `wxmediafs sync` tell it.
public struct UploadQueueStatus: Codable, Sendable {
    /// Files waiting for their upload to start.
    public var queued: Int
    /// Uploads in flight (their progress is in the status's transfers).
    public var uploading: Int
    /// Bytes of the files queued or uploading.
    public var queuedBytes: Int64
    /// Files whose upload failed, listed without a sidecar until removed or written again.
    public var failed: [MountStatus.Failure]
}
