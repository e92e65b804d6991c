/// What the filesystem needs from WeChat: the media rules, uploads, lookups and downloads, and
/// what `status` shows. `WeChatMediaClient` is the real one; tests give an in-memory twin.
public protocol MediaService: Sendable {
    var rules: MediaRules { get }
    func upload(fileAt path: String, as type: MediaType, progress: @escaping @Sendable (Int64) -> Void) async throws
        -> UploadedMedia
    func head(mediaID: String) async throws -> RemoteMedia
    func download(mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void) async throws
        -> RemoteMedia
    func downloadVideo(from url: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void)
        async throws -> RemoteFile
    /// How long ago the access token in use was obtained; nil when there is none yet.
    func tokenAge() async -> Duration?
    /// Requests sent so far, by kind.
    func requestCounts() -> [(kind: RequestStatistics.Kind, count: RequestStatistics.Count)]
}

extension WeChatMediaClient: MediaService {
    public func tokenAge() async -> Duration? { await tokens.tokenAge() }

    public func requestCounts() -> [(kind: RequestStatistics.Kind, count: RequestStatistics.Count)] {
        connection.statistics.snapshot()
    }
}
