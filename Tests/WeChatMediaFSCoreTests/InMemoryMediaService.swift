import Foundation
import Synchronization
import WeChatMedia

/// The WeChat media API as a dictionary, with faults on demand: the filesystem's twin of the
/// real client for the reference-model test, where thousands of sequences must run in seconds.
/// It applies the same rules as the client (size, format, duration) and stamps `created_at`
/// with the test's clock.
final class InMemoryMediaService: MediaService {
    struct Stored: Sendable, Equatable {
        var bytes: [UInt8]
        var type: MediaType
        var createdAt: Int64
    }

    private struct State {
        var media: [String: Stored] = [:]
        var nextID = 1
        var failures: [any Error] = []
        /// Every upload of these bytes fails with the error, until `clearFailures()`.
        var failingBytes: [(bytes: [UInt8], error: any Error)] = []
        var forgedAnswers: [(mediaID: String, createdAt: Int64)] = []
        var downloads = 0
        var uploadAttempts = 0
        var downloadFailure: (any Error)?
    }

    let rules: MediaRules
    private let clock: ManualClock
    private let state = Mutex(State())
    /// Holds uploads (after the rules) when told.
    private let gate = HoldGate()

    init(rules: MediaRules = MediaRules(profile: .current), clock: ManualClock) {
        self.rules = rules
        self.clock = clock
    }

    /// The next upload fails with `error` (after the rules accepted the file).
    func failNextUpload(with error: any Error) { state.withLock { $0.failures.append(error) } }

    /// Every upload of `bytes` fails with `error` (after the rules accepted the file), a try
    /// again too, until `clearFailures()`; other uploads pass.
    func failUploads(of bytes: [UInt8], with error: any Error) {
        state.withLock { $0.failingBytes.append((bytes, error)) }
    }

    func clearFailures() {
        state.withLock { state in
            state.failures = []
            state.failingBytes = []
        }
    }

    /// The next upload answers this id and time, whatever they are (a hostile server's answer).
    func forgeNextAnswer(mediaID: String, createdAt: Int64) {
        state.withLock { $0.forgedAnswers.append((mediaID, createdAt)) }
    }

    /// Every download from now on fails with `error` (nil: downloads work again).
    func failDownloads(with error: (any Error)?) { state.withLock { $0.downloadFailure = error } }

    var downloadCount: Int { state.withLock { $0.downloads } }

    /// The server deletes `mediaID` before its time: asked for it from now on, it answers 40007.
    func forget(_ mediaID: String) { _ = state.withLock { $0.media.removeValue(forKey: mediaID) } }

    /// Uploads from now on wait, as if the server took its time, until `releaseUploads()`.
    func holdUploads() { gate.hold() }

    /// Lets the held uploads go on, and the next ones run at once.
    func releaseUploads() { gate.release() }

    /// Uploads waiting for `releaseUploads()`.
    var heldUploads: Int { gate.waiting }

    func stored(_ mediaID: String) -> Stored? { state.withLock { $0.media[mediaID] } }

    var uploadCount: Int { state.withLock { $0.nextID - 1 } }

    /// Uploads that reached the server, failed ones too.
    var uploadAttempts: Int { state.withLock { $0.uploadAttempts } }

    func upload(fileAt path: String, as type: MediaType, progress: @escaping @Sendable (Int64) -> Void) async throws
        -> UploadedMedia
    {
        let format = try rules.check(fileAt: path, as: type)
        await gate.pass()
        let bytes = Array(FileManager.default.contents(atPath: path) ?? Data())
        let now = clock.seconds
        let forged = state.withLock { state in state.forgedAnswers.isEmpty ? nil : state.forgedAnswers.removeFirst() }
        if let forged {
            return UploadedMedia(
                mediaID: forged.mediaID, type: type, createdAt: forged.createdAt, format: format,
                size: Int64(bytes.count))
        }
        let id = try state.withLock { state -> String in
            state.uploadAttempts += 1
            if !state.failures.isEmpty { throw state.failures.removeFirst() }
            if let failing = state.failingBytes.first(where: { $0.bytes == bytes }) { throw failing.error }
            defer { state.nextID += 1 }
            let id = "m\(state.nextID)"
            state.media[id] = Stored(bytes: bytes, type: type, createdAt: now)
            return id
        }
        progress(Int64(bytes.count))
        return UploadedMedia(mediaID: id, type: type, createdAt: now, format: format, size: Int64(bytes.count))
    }

    func head(mediaID: String) async throws -> RemoteMedia {
        guard let stored = stored(mediaID) else { throw APIError(errcode: 40007, errmsg: "invalid media_id") }
        return .file(RemoteFile(size: Int64(stored.bytes.count), contentType: "image/jpeg", filename: "media"))
    }

    func download(mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void) async throws
        -> RemoteMedia
    {
        let failure = state.withLock { state in
            state.downloads += 1
            return state.downloadFailure
        }
        if let failure { throw failure }
        guard let stored = stored(mediaID) else { throw APIError(errcode: 40007, errmsg: "invalid media_id") }
        _ = FileManager.default.createFile(atPath: path, contents: Data(stored.bytes))
        await progress(Int64(stored.bytes.count))
        return .file(RemoteFile(size: Int64(stored.bytes.count), contentType: "image/jpeg", filename: "media"))
    }

    func downloadVideo(from url: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void)
        async throws -> RemoteFile
    {
        throw APIError(errcode: 40004, errmsg: "invalid media type")
    }

    func tokenAge() async -> Duration? { nil }

    func requestCounts() -> [(kind: RequestStatistics.Kind, count: RequestStatistics.Count)] { [] }
}
