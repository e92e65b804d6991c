import LocalByteStore
import WeChatMedia

/// What an upload queue does with its files. The temporary-media folders' uploads (`Uploader`)
/// and the material library's adds (`MaterialUploads`) queue alike, each in a folder of the cache
/// dir of its own and numbered by its own catalog table.
protocol QueuedUploads: Sendable {
    var queueFolder: QueueFolder { get }
    /// Records entry `entryID` as queued with `size` bytes, once they are durable in the queue.
    func markQueued(entryID: Int64, size: Int64) async throws
    /// Takes up entries an earlier run left queued: the type of each whose file still waits (an
    /// entry removed meanwhile, or never finished, is not among them).
    func resumable(_ entryIDs: [Int64]) async throws -> [Int64: MediaType]
    /// Uploads the queued file at `path` as entry `entryID`'s content. `isCurrent` is asked once
    /// the server answered: an entry removed or written again meanwhile is left alone (an upload
    /// never lands on a name it was not queued for).
    func uploadQueued(
        at path: String, size: Int64, entryID: Int64, type: MediaType, isCurrent: @escaping @Sendable () -> Bool
    ) async -> QueuedOutcome
}

/// The end of a queued upload.
enum QueuedOutcome: Sendable {
    /// On the server and in the catalog (the queued file moved into the content cache, or not:
    /// the queue removes whatever is left of it either way).
    case uploaded
    /// `mayPass`: nothing the server may have acted on, and a later try may succeed (the queue
    /// tries again by itself).
    case failed(MountStatus.Failure, errno: Int32, mayPass: Bool)
    /// Removed or written again meanwhile: nothing was committed.
    case superseded
}
