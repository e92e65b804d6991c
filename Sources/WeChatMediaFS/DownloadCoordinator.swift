import FUSEKit
import Logging
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Lazy downloads into the content cache: the first read of a media id starts one streaming
/// download, every reader waits only until the bytes it asked for have arrived, and concurrent
/// readers share the download. Partial files are `ID.part` until complete, so a crash never
/// leaves a partial file that looks whole.
actor DownloadCoordinator {
    private struct Download {
        var available: Int64 = 0
        var waiters: [(upTo: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let service: any MediaService
    private let cache: ContentCache
    private let budget: CacheBudget
    private let logger: Logger
    private let activity: MountActivity
    private let reporter: FailureReporter
    private var downloads: [String: Download] = [:]
    /// Downloads that failed. Readers of files opened before the failure that ask again (the
    /// kernel reads a page whose read-ahead failed once more, for every reader that waited on it)
    /// get the same error at once instead of starting another download of a full timeout; a file
    /// opened after the failure tries again.
    private var recentFailures: [String: (error: any Error, at: ContinuousClock.Instant)] = [:]
    static let failureMemory: Duration = .seconds(600)

    init(
        service: any MediaService, cache: ContentCache, budget: CacheBudget, activity: MountActivity,
        reporter: FailureReporter, logger: Logger
    ) {
        self.service = service
        self.cache = cache
        self.budget = budget
        self.activity = activity
        self.reporter = reporter
        self.logger = logger
    }

    /// Waits until bytes `[0, upTo)` of `mediaID` are on disk (or the whole file, if shorter) and
    /// returns the path holding them.
    /// `expectedSize`, when known (an upload's size, a HEAD's Content-Length), is checked against
    /// what arrives: a server that lies about lengths never gets a short file served as whole.
    /// `openedAt` is when the reader's file was opened (see `recentFailures`).
    func path(
        forBytesOf mediaID: String, upTo: Int64, isVideo: Bool, expectedSize: Int64?,
        openedAt: ContinuousClock.Instant
    ) async throws -> String {
        let complete = cache.contentPath(for: mediaID)
        if cache.hasContent(for: mediaID) { return complete }
        if downloads[mediaID] == nil {
            if let failure = recentFailures[mediaID], failure.at > openedAt { throw failure.error }
            start(mediaID, isVideo: isVideo, expectedSize: expectedSize)
        }
        if let download = downloads[mediaID], download.available >= upTo { return complete + ".part" }
        try await withCheckedThrowingContinuation { continuation in
            downloads[mediaID]?.waiters.append((upTo, continuation))
        }
        return cache.hasContent(for: mediaID) ? complete : complete + ".part"
    }

    private func start(_ mediaID: String, isVideo: Bool, expectedSize: Int64?) {
        downloads[mediaID] = Download()
        let service = self.service
        let reporter = self.reporter
        let target = cache.contentPath(for: mediaID)
        let logger = self.logger
        let budget = self.budget
        let activity = self.activity
        Task {
            let started = ContinuousClock.now
            let transfer = activity.begin(.download, name: "by-id/" + mediaID, total: expectedSize)
            defer { activity.end(transfer) }
            do {
                let progress: @Sendable (Int64) async -> Void = { [weak self] bytes in
                    activity.progress(transfer, bytesDone: bytes)
                    await self?.arrived(mediaID, bytes: bytes)
                }
                switch try await service.download(mediaID: mediaID, to: target + ".part", progress: progress) {
                case .file:
                    break
                case .video(let url):
                    _ = try await service.downloadVideo(from: url, to: target + ".part", progress: progress)
                }
                var info = stat()
                _ = stat(target + ".part", &info)
                if let expectedSize, Int64(info.st_size) != expectedSize {
                    throw TransportError.invalidResponse("got \(info.st_size) bytes of \(expectedSize)")
                }
                guard rename(target + ".part", target) == 0 else { throw FUSEError.io }
                await budget.added(mediaID, size: Int64(info.st_size))
                logger.info("downloaded \(mediaID) in \(started.duration(to: .now).wholeMilliseconds) ms")
                finish(mediaID, with: nil)
            } catch let error as APIError where isVideo && error.kind == .invalidMedia {
                unlink(target + ".part")
                let failure = reporter.report(
                    "download", of: "by-id/" + mediaID, error, errno: ENOTSUP,
                    reason: "cannot read video: the API does not serve video downloads and there is no local copy")
                finish(mediaID, with: failure)
            } catch {
                unlink(target + ".part")
                reporter.report("download", of: "by-id/" + mediaID, error)
                finish(mediaID, with: error)
            }
        }
    }

    private func arrived(_ mediaID: String, bytes: Int64) {
        guard var download = downloads[mediaID] else { return }
        download.available = bytes
        let (ready, waiting) = download.waiters.reduce(
            into: (
                [CheckedContinuation<Void, any Error>](),
                [(upTo: Int64, continuation: CheckedContinuation<Void, any Error>)]()
            )
        ) {
            if $1.upTo <= bytes { $0.0.append($1.continuation) } else { $0.1.append($1) }
        }
        download.waiters = waiting
        downloads[mediaID] = download
        ready.forEach { $0.resume() }
    }

    private func finish(_ mediaID: String, with error: (any Error)?) {
        recentFailures[mediaID] = error.map { ($0, .now) }
        recentFailures = recentFailures.filter { $0.value.at.duration(to: .now) < Self.failureMemory }
        let waiters = downloads.removeValue(forKey: mediaID)?.waiters ?? []
        for waiter in waiters {
            if let error { waiter.continuation.resume(throwing: error) } else { waiter.continuation.resume() }
        }
    }
}
