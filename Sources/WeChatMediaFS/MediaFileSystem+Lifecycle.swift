import LocalByteStore
import MediaCatalog

/// The mount's start and end: what a process that died left behind, the uploads still owed at
/// shutdown, and `wxmediafs sync`.
extension MediaFileSystem {
    /// Clears what a process that died left behind: entries never closed, spool files, partial
    /// downloads; then brings the cache within its budget, and resumes the uploads it left
    /// queued (closed files are not unfinished: none is lost, in either upload mode).
    public func recover() async throws {
        var stale = try await context.catalog.removeUnfinishedWrites().count
        if let material { stale += try await material.catalog.removeUnfinishedMaterial().count }
        context.cache.removeStaleSpoolFiles()
        context.cache.removePartialDownloads()
        await context.budget.markIrreplaceable(try await context.catalog.knownMediaIDs(of: .video))
        await context.budget.evictIfNeeded()
        if stale > 0 { context.logger.notice("removed \(stale) file(s) left unfinished by an earlier run") }
        var resumed = try await temporaryMedia.queue.resume()
        if let material { resumed += try await material.queue.resume() }
        if resumed > 0 { context.logger.notice("resumed \(resumed) queued upload(s) left by an earlier run") }
    }

    /// Waits for uploads in flight, for a clean shutdown, until `deadline` at the latest.
    public func waitForUploads(until deadline: ContinuousClock.Instant) async -> Bool {
        await temporaryMedia.uploader.waitUntilIdle(until: deadline)
    }

    /// Ends the filesystem's work once the FUSE loop has ended: queued uploads may finish until
    /// `drainEnd`; then no more start, and those still running are cancelled and awaited until
    /// `deadline`. Returns how many queued uploads are left: their files stay queued on disk,
    /// and the next mount on this cache dir resumes them.
    public func shutdown(drainingUntil drainEnd: ContinuousClock.Instant, deadline: ContinuousClock.Instant) async
        -> Int
    {
        await drafts?.builds.stop()
        var left = 0
        for queue in queues {
            left += await queue.waitUntilSettled(timeout: max(.zero, ContinuousClock.now.duration(to: drainEnd)))
        }
        for queue in queues where await !queue.stop(until: deadline) {
            context.logger.warning("queued uploads still running at the shutdown's deadline: their files stay queued")
        }
        return left
    }

    /// What `wxmediafs sync` answers: builds the article folders that wait for quiet, tries
    /// again at once the failed uploads the queue would try again later, waits until every
    /// queued upload and build has ended, then tells the failures (a folder that failed to build
    /// is one, named by its path).
    public func syncQueuedUploads() async -> UploadQueueStatus {
        await drafts?.builds.hurryAll()
        for queue in queues { queue.retryNow() }
        for queue in queues { await queue.waitUntilSettled(timeout: nil) }
        var status = queuedUploads()
        status.failed += await drafts?.failures() ?? []
        return status
    }

    /// The upload folders' queue and the material library's, in that order.
    var queues: [UploadQueue] { [temporaryMedia.queue] + (material.map { [$0.queue] } ?? []) }

    /// Both queues as one, for `status` and `sync`.
    func queuedUploads() -> UploadQueueStatus {
        queues.map { $0.snapshot() }.reduce(UploadQueueStatus(queued: 0, uploading: 0, queuedBytes: 0, failed: [])) {
            UploadQueueStatus(
                queued: $0.queued + $1.queued, uploading: $0.uploading + $1.uploading,
                queuedBytes: $0.queuedBytes + $1.queuedBytes, failed: $0.failed + $1.failed)
        }
    }
}
