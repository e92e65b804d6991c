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

/// Takes one spool file to the server and the catalog: validate → upload → adopt → commit →
/// report. On success the entry names the new media id; on failure a new entry goes away and an
/// overwritten one keeps its previous upload. Nothing is committed that the server did not accept.
final class Uploader: QueuedUploads {
    let catalog: any Catalog
    private let cache: ContentCache
    private let service: any MediaService
    private let budget: CacheBudget
    private let activity: MountActivity
    private let reporter: FailureReporter
    private let clock: any MountClock
    private let kernelCache: KernelCache
    private let logger: Logger
    /// Uploads in flight, and who waits for there to be none (a shutdown).
    private let inFlight = Mutex(0)
    private let idle = Waiters<Idle, Bool>()

    private enum Idle: Hashable, Sendable { case idle }

    init(
        catalog: any Catalog, cache: ContentCache, service: any MediaService, budget: CacheBudget,
        activity: MountActivity, reporter: FailureReporter, clock: any MountClock, kernelCache: KernelCache,
        logger: Logger
    ) {
        self.catalog = catalog
        self.cache = cache
        self.service = service
        self.budget = budget
        self.activity = activity
        self.reporter = reporter
        self.clock = clock
        self.kernelCache = kernelCache
        self.logger = logger
    }

    /// Uploads `spool` as the new content of entry `entryID`; returns whether the spool file
    /// became the media's cached content (then it belongs to the cache).
    /// A file removed while open (`rm` while another process writes it) is not uploaded: its
    /// close succeeds, as on a local disk, and its bytes go with the spool.
    func upload(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Bool {
        guard var entry = try await catalog.entry(id: entryID) else { return false }
        let path = await catalog.displayPath(of: entry)
        guard let size = Self.size(of: spool.descriptor) else { throw FUSEError.io }
        guard size > 0 else {
            try await settleEmpty(&entry)
            return false
        }
        let began = ContinuousClock.now
        let uploaded: UploadedMedia
        do {
            uploaded = try await send(spool.path, size: size, as: type, path: path)
        } catch {
            let failure = reporter.report("upload", of: path, error, errno: ErrnoMapping.errnoOfUpload(for: error))
            if isNew, entry.state == .writing { await forget(entry) }
            throw failure
        }
        return try await commit(uploaded, of: spool.path, to: &entry, path: path, began: began)
    }

    // MARK: Queued uploads

    let queueFolder = QueueFolder.media

    func markQueued(entryID: Int64, size: Int64) async throws {
        guard var entry = try await catalog.entry(id: entryID) else { throw FUSEError.notFound }
        if entry.state == .uploaded {
            // An uploaded file keeps its id (and other hosts its bytes) until the new upload;
            // its old media's expiry no longer applies, so the sweep cannot take the new bytes.
            if entry.createdAt != nil {
                entry.createdAt = nil
                try await catalog.update(entry)
            }
        } else {
            entry.state = .queued
            entry.size = size
            try await catalog.update(entry)
        }
    }

    func resumable(_ entryIDs: [Int64]) async throws -> [Int64: MediaType] {
        try await catalog.adoptQueuedEntries(entryIDs)
        var types: [Int64: MediaType] = [:]
        for id in entryIDs {
            guard let entry = try await catalog.entry(id: id), !entry.isDirectory, entry.state != .writing else {
                continue
            }
            types[id] = entry.type
        }
        return types
    }

    func uploadQueued(
        at queuedPath: String, size: Int64, entryID: Int64, type: MediaType, isCurrent: @escaping @Sendable () -> Bool
    ) async -> QueuedOutcome {
        let path: String
        do {
            guard let entry = try await catalog.entry(id: entryID) else { return .superseded }
            path = await catalog.displayPath(of: entry)
        } catch {
            // Nothing was sent: a catalog that answers again (the fleet's PostgreSQL) may pass.
            let (failure, code) = reporter.reportFailure("upload", of: "entry \(entryID)", error)
            return .failed(failure, errno: code, mayPass: true)
        }
        let began = ContinuousClock.now
        let uploaded: UploadedMedia
        do {
            uploaded = try await send(queuedPath, size: size, as: type, path: path)
        } catch {
            guard isCurrent() else { return .superseded }
            let (failure, code) = reporter.reportFailure(
                "upload", of: path, error, errno: ErrnoMapping.errnoOfUpload(for: error))
            return .failed(failure, errno: code, mayPass: RetryPolicy.mayPassLater(error))
        }
        do {
            // Read again: a chmod, touch or rename while it uploaded must stay.
            guard isCurrent(), var entry = try await catalog.entry(id: entryID) else { return .superseded }
            _ = try await commit(uploaded, of: queuedPath, to: &entry, path: path, began: began)
            return .uploaded
        } catch {
            guard isCurrent(), (try? await catalog.entry(id: entryID)) ?? nil != nil else { return .superseded }
            // The server has the media: another try would upload it again.
            let (failure, code) = reporter.reportFailure("upload", of: path, error)
            return .failed(failure, errno: code, mayPass: false)
        }
    }

    /// For `--uploads background`: what `close()` still checks before queueing (size, format,
    /// voice length), failing as a sync upload would, and a new name going away if refused.
    /// Returns the file's size; an empty file settles as a placeholder here (returns 0).
    func checkBeforeQueueing(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Int64 {
        guard var entry = try await catalog.entry(id: entryID) else { return 0 }
        guard let size = Self.size(of: spool.descriptor) else { throw FUSEError.io }
        guard size > 0 else {
            try await settleEmpty(&entry)
            return 0
        }
        do {
            _ = try service.rules.check(fileAt: spool.path, as: type)
        } catch {
            let failure = reporter.report(
                "upload", of: await catalog.displayPath(of: entry), error, errno: ErrnoMapping.errno(for: error))
            if isNew, entry.state == .writing { await forget(entry) }
            throw failure
        }
        return size
    }

    /// Closed empty: a placeholder, listed but never uploaded.
    private func settleEmpty(_ entry: inout CatalogEntry) async throws {
        entry.state = .placeholder
        entry.mediaID = nil
        entry.size = 0
        entry.createdAt = nil
        try await catalog.update(entry)
    }

    private static func size(of descriptor: Int32) -> Int64? {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// The request itself, counted for a clean shutdown and shown by `wxmediafs status`.
    private func send(_ file: String, size: Int64, as type: MediaType, path: String) async throws -> UploadedMedia {
        started()
        defer { finished() }
        let activity = self.activity
        let transfer = activity.begin(.upload, name: path, total: size)
        defer { activity.end(transfer) }
        // The service checks the rules (size, format, duration) before any request.
        let uploaded = try await service.upload(fileAt: file, as: type) { sent in
            activity.progress(transfer, bytesDone: sent)
        }
        try Self.check(uploaded)
        return uploaded
    }

    /// Records an upload the server accepted; the file at `file` becomes its cached content.
    private func commit(
        _ uploaded: UploadedMedia, of file: String, to entry: inout CatalogEntry, path: String,
        began: ContinuousClock.Instant
    ) async throws -> Bool {
        // The handle goes on reading the uploaded bytes, now the cached content (a rename).
        let adopted = (try? cache.adopt(spoolPath: file, as: uploaded.mediaID)) != nil
        if adopted { await budget.added(uploaded.mediaID, size: uploaded.size, irreplaceable: entry.type == .video) }
        entry.state = .uploaded
        entry.mediaID = uploaded.mediaID
        entry.format = uploaded.format
        entry.size = uploaded.size
        entry.createdAt = uploaded.createdAt
        entry.changeTime = clock.now()
        try await catalog.update(
            entry,
            recording: KnownMedia(
                mediaID: uploaded.mediaID, type: uploaded.type, size: uploaded.size,
                contentType: uploaded.format.contentType, createdAt: uploaded.createdAt, firstSeen: clock.seconds))
        logger.info(
            "uploaded \(path): \(uploaded.type.rawValue), \(uploaded.size) bytes, media_id \(uploaded.mediaID), \(began.duration(to: .now).wholeMilliseconds) ms"
        )
        return adopted
    }

    /// What goes into the catalog must be what a server can say: whatever service answered, an
    /// id that is no id or a time outside 2000...2100 is never stored (the client refuses them
    /// first; this keeps any other `MediaService` from poisoning the catalog).
    private static func check(_ uploaded: UploadedMedia) throws {
        guard OpaqueID.isWellFormed(uploaded.mediaID, maxLength: 128) else {
            throw TransportError.invalidResponse("upload reply with a media_id that is not an id")
        }
        guard ServerTime.isPlausible(uploaded.createdAt) else {
            throw TransportError.invalidResponse(
                "upload reply with created_at \(uploaded.createdAt), not a plausible time")
        }
        guard uploaded.size >= 0 else { throw TransportError.invalidResponse("upload of a negative size") }
    }

    /// A write that failed for good: a new name goes away, an overwritten file keeps its upload.
    func abandon(entryID: Int64, isNew: Bool) async {
        guard isNew, let entry = try? await catalog.entry(id: entryID), entry.state == .writing else { return }
        await forget(entry)
    }

    /// A file closed without new bytes: one still `writing` becomes a placeholder.
    func settleUnwritten(entryID: Int64) async throws {
        guard var entry = try await catalog.entry(id: entryID), entry.state == .writing else { return }
        entry.state = .placeholder
        try await catalog.update(entry)
    }

    /// Waits until no upload is in flight, for a clean shutdown, but never past `deadline`:
    /// whether it became idle.
    func waitUntilIdle(until deadline: ContinuousClock.Instant) async -> Bool {
        await idle.wait(for: .idle, until: deadline, timedOut: false) {
            self.inFlight.withLock { $0 == 0 } ? true : nil
        }
    }

    private func started() { inFlight.withLock { $0 += 1 } }

    private func finished() {
        let none = inFlight.withLock { count in
            count -= 1
            return count == 0
        }
        if none { idle.answerAll(.idle, with: true) }
    }

    /// Removes a name whose first upload failed, and makes the kernel look it up again.
    private func forget(_ entry: CatalogEntry) async {
        guard let id = entry.id else { return }
        try? await catalog.delete(id: id)
        await kernelCache.invalidateEntry(parent: Node.inode(of: entry.folder), name: entry.name)
    }
}
