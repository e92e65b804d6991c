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
        try await Self.measure(.upload, type: type.rawValue, errno: ErrnoMapping.errnoOfUpload(for:)) {
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
        return try await Self.measure(.download, type: type, errno: ErrnoMapping.errno(for:)) {
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
        return try await Self.measure(.download, type: MediaType.video.rawValue, errno: ErrnoMapping.errno(for:)) {
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

    private enum Direction: String {
        case upload, download
    }

    /// Runs one transfer, counted in flight while it runs, then by outcome, with its duration
    /// and (on success) the bytes `body` reports.
    private static func measure<T>(
        _ direction: Direction, type: String, errno: (any Error) -> Int32,
        _ body: () async throws -> (T, Int64)
    ) async throws -> T {
        let inFlight = Meter(label: "wxmediafs_transfers_in_flight", dimensions: [("direction", direction.rawValue)])
        inFlight.increment()
        defer { inFlight.decrement() }
        let started = ContinuousClock.now
        let prefix = "wxmediafs_" + direction.rawValue
        func finish(outcome: String, errcode: String) {
            let dimensions = [("type", type), ("outcome", outcome), ("errcode", errcode)]
            Counter(label: prefix + "s_total", dimensions: dimensions).increment()
            Timer(
                label: prefix + "_duration_seconds",
                dimensions: [("type", type), ("result", outcome == "ok" ? "ok" : "failed")]
            ).recordElapsed(since: started)
        }
        do {
            let (result, bytes) = try await body()
            finish(outcome: "ok", errcode: "0")
            Counter(label: prefix + "_bytes_total", dimensions: [("type", type)]).increment(by: max(0, bytes))
            return result
        } catch {
            finish(
                outcome: ErrnoMapping.name(of: errno(error)),
                errcode: ErrnoMapping.errcode(of: error).map(String.init) ?? "none")
            throw error
        }
    }
}

/// The last byte count a download's progress reported.
private final class ByteTally: Sendable {
    private let count = Mutex<Int64>(0)
    func set(_ bytes: Int64) { count.withLock { $0 = bytes } }
    var value: Int64 { count.withLock { $0 } }
}

extension Timer {
    fileprivate func recordElapsed(since start: ContinuousClock.Instant) {
        recordNanoseconds(start.duration(to: .now).wholeNanoseconds)
    }
}
