import CoreMetrics
import Deadlines
import Synchronization
import WeChatMedia

/// A `MediaService` that counts what passes through it for the metrics endpoint: uploads and
/// downloads by media type and outcome (the errno the filesystem answers and the errcode), the
/// bytes of those that succeeded, their latency and how many are in flight. It wraps the real
/// client in the daemon; the filesystem does not know it is there.
public struct MeteredMediaService: MediaService {
    private let base: any MediaService
    /// The type of a media id the catalog knows (a download's label); nil when it knows none.
    private let mediaType: @Sendable (String) async -> MediaType?

    public init(_ base: any MediaService, mediaType: @escaping @Sendable (String) async -> MediaType?) {
        self.base = base
        self.mediaType = mediaType
    }

    public var rules: MediaRules { base.rules }

    public func upload(
        fileAt path: String, as type: MediaType, progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> UploadedMedia {
        try await TransferMetrics.measure(.upload, type: type.rawValue, errno: ErrnoMapping.errnoOfUpload(for:)) {
            let uploaded = try await base.upload(fileAt: path, as: type, progress: progress)
            return (uploaded, uploaded.size)
        }
    }

    public func head(mediaID: String) async throws -> RemoteMedia { try await base.head(mediaID: mediaID) }

    public func download(
        mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void
    ) async throws -> RemoteMedia {
        let type = await mediaType(mediaID)?.rawValue ?? "unknown"
        let received = ByteTally()
        return try await TransferMetrics.measure(.download, type: type, errno: ErrnoMapping.errno(for:)) {
            let media = try await base.download(mediaID: mediaID, to: path) { bytes in
                received.set(bytes)
                await progress(bytes)
            }
            return (media, received.value)
        }
    }

    public func downloadVideo(
        from url: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void
    ) async throws -> RemoteFile {
        let received = ByteTally()
        return try await TransferMetrics.measure(
            .download, type: MediaType.video.rawValue, errno: ErrnoMapping.errno(for:)
        ) {
            let file = try await base.downloadVideo(from: url, to: path) { bytes in
                received.set(bytes)
                await progress(bytes)
            }
            return (file, received.value)
        }
    }

    public func tokenAge() async -> Duration? { await base.tokenAge() }

    public func requestCounts() -> [(kind: RequestStatistics.Kind, count: RequestStatistics.Count)] {
        base.requestCounts()
    }
}
