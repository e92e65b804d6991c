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
        let resumed = try await temporaryMedia.queue.resume()
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
        let queue = temporaryMedia.queue
        let left = await queue.waitUntilSettled(timeout: max(.zero, ContinuousClock.now.duration(to: drainEnd)))
        if await !queue.stop(until: deadline) {
            context.logger.warning("queued uploads still running at the shutdown's deadline: their files stay queued")
        }
        return left
    }

    /// What `wxmediafs sync` answers: waits until every queued upload has ended, then tells the
    /// failures.
    public func syncQueuedUploads() async -> UploadQueueStatus {
        await temporaryMedia.queue.waitUntilSettled(timeout: nil)
        return temporaryMedia.queue.snapshot()
    }
}
