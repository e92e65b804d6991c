import Deadlines
import FUSEKit
import LocalByteStore
import Logging
import MediaCatalog
import Synchronization
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Lazy downloads into the content cache: the first read of a media id starts one streaming
/// download, every reader waits only until the bytes it asked for have arrived, and concurrent
/// readers share the download. Partial files are `ID.part` until complete, so a crash never
/// leaves a partial file that looks whole.
final class DownloadCoordinator: Sendable {
    /// Where a content's bytes come from.
    enum Source: Sendable {
        /// Temporary media (`media/get`); a video's answer names its URL.
        case temporary(isVideo: Bool)
        /// Permanent material (`material/get_material`, a video through its `down_url`).
        case material
        /// A plain URL (an article image's).
        case url(String)

        var isVideo: Bool { if case .temporary(let isVideo) = self { isVideo } else { false } }

        /// How `status` and the log name a download of `key` from here.
        func name(of key: String) -> String {
            switch self {
            case .temporary: "by-id/" + key
            case .material: "material media_id " + key
            case .url(let url): "article image " + url
            }
        }
    }

    private struct State {
        /// Downloads running, with the bytes on disk so far.
        var available: [String: Int64] = [:]
        /// Downloads that failed. Readers of files opened before the failure that ask again (the
        /// kernel reads a page whose read-ahead failed once more, for every reader that waited
        /// on it) get the same error at once instead of starting another download of a full
        /// timeout; a file opened after the failure tries again.
        var recentFailures: [String: (error: any Error, at: ContinuousClock.Instant)] = [:]
    }

    private let service: any MediaService
    private let material: (any MaterialService)?
    private let cache: ContentCache
    private let budget: CacheBudget
    private let logger: Logger
    private let activity: MountActivity
    private let reporter: FailureReporter
    private let state = Mutex(State())
    /// Readers, by media id, woken at each arrival of bytes and at the end.
    private let readers = Waiters<String, Void>()
    static let failureMemory: Duration = .seconds(600)

    init(
        service: any MediaService, material: (any MaterialService)?, cache: ContentCache, budget: CacheBudget,
        activity: MountActivity, reporter: FailureReporter, logger: Logger
    ) {
        self.service = service
        self.material = material
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
    /// `openedAt` is when the reader's file was opened (see `State.recentFailures`).
    func path(
        forBytesOf mediaID: String, upTo: Int64, from source: Source, expectedSize: Int64?,
        openedAt: ContinuousClock.Instant
    ) async throws -> String {
        let complete = cache.contentPath(for: mediaID)
        while true {
            if cache.hasContent(for: mediaID) { return complete }
            switch progress(of: mediaID, upTo: upTo, openedAt: openedAt) {
            case .ready:
                return cache.hasContent(for: mediaID) ? complete : complete + ".part"
            case .failed(let error):
                throw error
            case .notStarted:
                start(mediaID, from: source, expectedSize: expectedSize)
            case .arriving:
                await readers.wait(for: mediaID, until: nil, timedOut: ()) {
                    self.progress(of: mediaID, upTo: upTo, openedAt: openedAt).isArriving ? nil : ()
                }
                // An interrupted read (the reader's signal) ends its wait, not the download.
                try Task.checkCancellation()
            }
        }
    }

    private enum Progress {
        case ready, arriving, notStarted, failed(any Error)

        var isArriving: Bool { if case .arriving = self { true } else { false } }
    }

    /// Where the reader of `[0, upTo)` stands; a finished download's bytes are in the cache
    /// (the caller checks it first) or its failure is recent.
    private func progress(of mediaID: String, upTo: Int64, openedAt: ContinuousClock.Instant) -> Progress {
        let progress = state.withLock { state -> Progress in
            if let available = state.available[mediaID] { return available >= upTo ? .ready : .arriving }
            if let failure = state.recentFailures[mediaID], failure.at > openedAt { return .failed(failure.error) }
            return .notStarted
        }
        // Finished meanwhile (its file is in the cache), or never started.
        guard case .notStarted = progress, cache.hasContent(for: mediaID) else { return progress }
        return .ready
    }

    /// Starts the download unless one is running (another reader started it meanwhile).
    private func start(_ mediaID: String, from source: Source, expectedSize: Int64?) {
        let started = state.withLock { state in
            guard state.available[mediaID] == nil else { return false }
            state.available[mediaID] = 0
            return true
        }
        guard started else { return }
        let service = self.service
        let material = self.material
        let isVideo = source.isVideo
        let reporter = self.reporter
        let target = cache.contentPath(for: mediaID)
        let logger = self.logger
        let budget = self.budget
        let activity = self.activity
        Task {
            let started = ContinuousClock.now
            let name = source.name(of: mediaID)
            let transfer = activity.begin(.download, name: name, total: expectedSize)
            defer { activity.end(transfer) }
            do {
                let progress: @Sendable (Int64) async -> Void = { [weak self] bytes in
                    activity.progress(transfer, bytesDone: bytes)
                    self?.arrived(mediaID, bytes: bytes)
                }
                switch source {
                case .temporary:
                    switch try await service.download(mediaID: mediaID, to: target + ".part", progress: progress) {
                    case .file:
                        break
                    case .video(let url):
                        _ = try await service.downloadVideo(from: url, to: target + ".part", progress: progress)
                    }
                case .material:
                    guard let material else { throw FUSEError.io }
                    _ = try await material.getMaterial(mediaID: mediaID, to: target + ".part", progress: progress)
                case .url(let url):
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
                    "download", of: name, error, errno: ENOTSUP,
                    reason: "cannot read video: the API does not serve video downloads and there is no local copy")
                finish(mediaID, with: failure)
            } catch {
                unlink(target + ".part")
                reporter.report("download", of: name, error)
                finish(mediaID, with: error)
            }
        }
    }

    private func arrived(_ mediaID: String, bytes: Int64) {
        let running = state.withLock { state in
            guard state.available[mediaID] != nil else { return false }
            state.available[mediaID] = bytes
            return true
        }
        if running { readers.answerAll(mediaID, with: ()) }
    }

    private func finish(_ mediaID: String, with error: (any Error)?) {
        state.withLock { state in
            state.available[mediaID] = nil
            state.recentFailures[mediaID] = error.map { ($0, .now) }
            state.recentFailures = state.recentFailures.filter { $0.value.at.duration(to: .now) < Self.failureMemory }
        }
        readers.answerAll(mediaID, with: ())
    }
}
