import CoreMetrics
import Deadlines
import FUSEKit
import Foundation
import HeapModule
import LocalByteStore
import Logging
import MediaCatalog
import Synchronization
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// `--uploads background`: files closed and queued on disk (`ContentCache+Queue`), uploaded up
/// to `concurrency` at once, oldest first (a file someone waits for first of all). One entry has
/// at most one queued file, its newest bytes; an entry written again while its older bytes
/// upload waits for that upload to end, and the older answer is dropped. A failed upload stays
/// (its bytes, its reason, on disk) until the file is removed or written again; one that failed
/// for a reason that may pass (`QueuedOutcome.failed(mayPass:)`) is also tried again by itself
/// after `retryDelay`, doubled on each failure in a row (`LaterTries`), and at once when
/// `wxmediafs sync` asks. What an upload is belongs to `uploads`: the temporary-media folders
/// and the material library have a queue each.
///
/// One scheduler loop starts the uploads, each a child task of its task group, so stopping the
/// queue cancels and awaits them all; the next upload is taken from a heap (O(log n) over a
/// 10,000-file `cp -r`). State is behind a lock held for dictionary and heap work only, never
/// across an `await`; waiting for an upload or for the queue to settle goes through `Waiters`.
final class UploadQueue: Sendable {
    enum Phase: String, Sendable {
        case queued, uploading, failed
    }

    /// What a waiter learns.
    enum Outcome: Sendable, Equatable {
        /// Nothing is queued for the entry (never was, uploaded meanwhile, or removed).
        case nothingQueued
        case failed(errno: Int32)
        /// The wait's bound passed first.
        case timedOut
    }

    struct Item: Sendable {
        var entryID: Int64
        var generation: UInt64
        var type: MediaType
        /// The queued file.
        var path: String
        var size: Int64
        /// Queue order: oldest first.
        var order: UInt64
        /// Someone waits for it (a sidecar, fsync): it goes before the rest.
        var urgent = false
        var phase: Phase = .queued
        var failure: QueuedUploadFailure?
        /// A failure that may pass: when it is tried again, and how many failed in a row.
        var retryAt: ContinuousClock.Instant?
        var failuresInARow = 0
    }

    /// A place in line: urgent first, then oldest first. A place whose item has since changed
    /// (uploaded, removed, written again, made urgent) is skipped when it comes up.
    private struct Place: Comparable {
        var urgent: Bool
        var order: UInt64
        var entryID: Int64
        var generation: UInt64

        static func < (a: Place, b: Place) -> Bool {
            a.urgent != b.urgent ? a.urgent : a.order < b.order
        }
    }

    /// The try again that goes first: its entry and generation, and whether its passing lets every
    /// planned try go (`sync`) or the due ones only (the timer).
    private struct Probe {
        var entryID: Int64
        var generation: UInt64
        var releasesAll: Bool
    }

    /// A failed upload's next try. One whose item has since changed is skipped.
    private struct Retry: Comparable {
        var at: ContinuousClock.Instant
        var entryID: Int64
        var generation: UInt64

        static func < (a: Retry, b: Retry) -> Bool { a.at < b.at }
    }

    private struct State {
        var items: [Int64: Item] = [:]
        var line = Heap<Place>()
        var retries = Heap<Retry>()
        /// When the scheduler's timer for the next retry rings, if one is set.
        var retryTimer: ContinuousClock.Instant?
        /// The failed upload tried again first when tries fall due (or `sync` asks); the others
        /// wait for its answer, so an outage costs one try a round, not one a file.
        var probe: Probe?
        /// Entries whose upload is in flight, with the generation it uploads.
        var running: [Int64: UInt64] = [:]
        var failedCount = 0
        /// Failed items with a try planned (counted in `failedCount` too).
        var plannedRetryCount = 0
        var nextOrder: UInt64 = 0
        var nextGeneration: UInt64
        /// Set by the scheduler loop as it ends.
        var loopEnded = false

        var pendingCount: Int { items.count - failedCount }

        /// Puts `item` in `items`, keeping the failed count.
        mutating func store(_ item: Item?, for entryID: Int64) {
            // A probe removed or written again answers nothing: the next due try probes.
            if let probe, probe.entryID == entryID, item?.generation != probe.generation { self.probe = nil }
            if let old = items[entryID], old.phase == .failed {
                failedCount -= 1
                if old.retryAt != nil { plannedRetryCount -= 1 }
            }
            items[entryID] = item
            if let item, item.phase == .failed {
                failedCount += 1
                if item.retryAt != nil { plannedRetryCount += 1 }
            }
        }

        mutating func enterLine(_ item: Item) {
            line.insert(
                Place(urgent: item.urgent, order: item.order, entryID: item.entryID, generation: item.generation))
        }

        /// A failure that may pass, to be tried again at `at`.
        mutating func scheduleRetry(of item: inout Item, at: ContinuousClock.Instant) {
            item.retryAt = at
            retries.insert(Retry(at: at, entryID: item.entryID, generation: item.generation))
        }

        /// The planned tries due by `now` (every one when `now` is nil), taken out of the heap
        /// with their items; stale places are dropped.
        mutating func takeRetries(dueBy now: ContinuousClock.Instant?, atMost limit: Int = .max) -> [Item] {
            var taken: [Item] = []
            while taken.count < limit, let next = retries.min, now.map({ next.at <= $0 }) ?? true {
                _ = retries.popMin()
                guard let item = items[next.entryID], item.generation == next.generation, item.phase == .failed,
                    item.retryAt == next.at
                else { continue }
                taken.append(item)
            }
            return taken
        }

        /// Failed uploads whose next try is due by `now` (every one with a try planned when
        /// `now` is nil) go back in line.
        mutating func requeueRetries(dueBy now: ContinuousClock.Instant?) {
            for item in takeRetries(dueBy: now) { requeue(item) }
        }

        /// A failed item back in line, to be tried again.
        mutating func requeue(_ failed: Item) {
            var item = failed
            (item.phase, item.failure, item.retryAt) = (.queued, nil, nil)
            store(item, for: item.entryID)
            enterLine(item)
        }

        /// Unless a probe is out: the first planned try due by `now` (any, for `sync`: `now`
        /// nil) goes back in line as the probe. A probe already out lets every try go when it
        /// passes if `releasingAll`.
        mutating func startProbe(dueBy now: ContinuousClock.Instant?, releasingAll: Bool) -> Bool {
            if probe != nil {
                if releasingAll { probe?.releasesAll = true }
                return false
            }
            guard let item = takeRetries(dueBy: now, atMost: 1).first else { return false }
            requeue(item)
            probe = Probe(entryID: item.entryID, generation: item.generation, releasesAll: releasingAll)
            return true
        }

        /// The probe, if `item` is it, no longer out.
        mutating func takeProbe(_ item: Item) -> Probe? {
            guard let probe, probe.entryID == item.entryID, probe.generation == item.generation else { return nil }
            self.probe = nil
            return probe
        }

        /// `probe` ended: passed, the tries it stood for go now; failed for now, those due wait
        /// for its next try, at `next`; otherwise the next due try probes.
        mutating func probeEnded(
            _ probe: Probe, passed: Bool, next: ContinuousClock.Instant?, now: ContinuousClock.Instant
        ) {
            if passed {
                requeueRetries(dueBy: probe.releasesAll ? nil : now)
                return
            }
            guard let next else { return }
            for var waiting in takeRetries(dueBy: now) {
                scheduleRetry(of: &waiting, at: next)
                store(waiting, for: waiting.entryID)
            }
        }

        /// When the scheduler should next wake for a retry, if its timer is not set for then
        /// (none while a probe is out: its end wakes the scheduler).
        mutating func retryTimerToSet(now: ContinuousClock.Instant) -> ContinuousClock.Instant? {
            guard probe == nil, let first = retries.min?.at else { return nil }
            if let set = retryTimer, set > now, set <= first { return nil }
            retryTimer = first
            return first
        }

        /// The next item to upload, taken out of line and marked uploading.
        mutating func takeNext() -> Item? {
            while let place = line.popMin() {
                guard var item = items[place.entryID], item.generation == place.generation, item.phase == .queued,
                    item.urgent == place.urgent, running[place.entryID] == nil
                else { continue }
                item.phase = .uploading
                items[place.entryID] = item
                running[place.entryID] = item.generation
                return item
            }
            return nil
        }
    }

    private enum Everything: Hashable { case queue }

    /// Made once: a gauge made per change is a registry lookup each time (measured: the drain of
    /// 10,000 files 0.03 ms a file dearer with three made per change).
    private struct Gauges: Sendable {
        var depth: Gauge
        var retryPlanned: Gauge
        var failedForGood: Gauge

        /// Each queue its own gauges: the material library's adds are counted apart.
        init(_ folder: QueueFolder) {
            let prefix = folder == .media ? "wxmediafs_upload_queue" : "wxmediafs_material_upload_queue"
            depth = Gauge(label: prefix + "_depth")
            retryPlanned = Gauge(label: prefix + "_failed", dimensions: [("retry", "planned")])
            failedForGood = Gauge(label: prefix + "_failed", dimensions: [("retry", "none")])
        }
    }

    private let state: Mutex<State>
    private let concurrency: Int
    private let retryDelay: Duration
    private let cache: ContentCache
    private let uploads: any QueuedUploads
    private let logger: Logger
    private let gauges: Gauges
    private let entryWaiters = Waiters<Int64, Outcome>()
    private let settledWaiters = Waiters<Everything, Void>()
    private let stoppedWaiters = Waiters<Everything, Bool>()
    private let wake: AsyncStream<Void>.Continuation
    /// The scheduler loop; `stop` ends it.
    private let loop: Mutex<Task<Void, Never>?>

    /// `retryDelay`: how long after a failure that may pass its upload is tried again by
    /// itself (the first time; doubled on each failure in a row).
    init(
        concurrency: Int, retryDelay: Duration, cache: ContentCache, uploads: any QueuedUploads, logger: Logger
    ) {
        self.concurrency = max(1, concurrency)
        self.retryDelay = retryDelay
        self.cache = cache
        self.uploads = uploads
        self.logger = logger
        self.gauges = Gauges(uploads.queueFolder)
        // Generations name files on disk: starting from the clock keeps them growing across restarts.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let start = UInt64(max(0, now.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, now.tv_nsec))
        self.state = Mutex(State(nextGeneration: start))
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.wake = wake
        self.loop = Mutex(nil)
        // Unstructured until the mount is a ServiceGroup that can run it (issue 21, point 2): the
        // queue owns it, `stop` cancels and awaits it (the mount's shutdown calls it), and
        // `deinit` ends it; it holds the queue only while it starts uploads.
        loop.withLock { $0 = Task { [weak self] in await Self.schedule(queue: { [weak self] in self }, woken: wakes) } }
        countsChanged()
    }

    deinit { wake.finish() }

    // MARK: Queueing

    /// Queues the closed file `spool` (`size` bytes, rules checked) as entry `entryID`'s new
    /// content: durable on disk and, for a file never uploaded, `queued` in the catalog, before
    /// it returns. The spool file is the queue's afterwards.
    func enqueue(spool: SpoolFile, size: Int64, entryID: Int64, type: MediaType) async throws {
        let generation = state.withLock { state in
            state.nextGeneration += 1
            return state.nextGeneration
        }
        let path: String
        do {
            let (cache, folder) = (self.cache, uploads.queueFolder)
            path = try await BlockingIO.run {
                try cache.enqueue(
                    spoolPath: spool.path, descriptor: spool.descriptor, into: folder, entryID: entryID,
                    generation: generation)
            }
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
        do {
            try await uploads.markQueued(entryID: entryID, size: size)
        } catch {
            // Not queued: the bytes go back to the handle, which fails its close.
            rename(path, spool.path)
            throw error
        }
        let replaced = state.withLock { state -> Item? in
            state.nextOrder += 1
            let old = state.items[entryID]
            let item = Item(
                entryID: entryID, generation: generation, type: type, path: path, size: size, order: state.nextOrder,
                urgent: old?.urgent ?? false)
            state.store(item, for: entryID)
            state.enterLine(item)
            return old
        }
        if let replaced { cache.removeQueued(replaced.path) }
        countsChanged()
        wake.yield()
    }

    /// Forgets what is queued for entry `entryID` (removed, or replaced by a rename): its file
    /// goes, and an upload in flight for it is dropped when it answers.
    func forget(_ entryID: Int64) {
        let removed = state.withLock { state -> Item? in
            let removed = state.items[entryID]
            state.store(nil, for: entryID)
            return removed
        }
        guard let removed else { return }
        cache.removeQueued(removed.path)
        entryWaiters.answerAll(entryID, with: .nothingQueued)
        countsChanged()
        answerSettledWaitersIfSettled()
    }

    // MARK: Questions

    /// What is queued for entry `entryID`, if anything.
    func item(_ entryID: Int64) -> Item? { state.withLock { $0.items[entryID] } }

    /// Waits, at most `timeout` (nil: as long as it takes), until the entry's queued upload
    /// ended, and puts it first in the queue meanwhile.
    func wait(for entryID: Int64, timeout: Duration?) async -> Outcome {
        await entryWaiters.wait(for: entryID, until: timeout.map { .now + $0 }, timedOut: .timedOut) {
            let (outcome, promoted) = self.state.withLock { state -> (Outcome?, Bool) in
                guard var item = state.items[entryID] else { return (.nothingQueued, false) }
                if item.phase == .failed { return (.failed(errno: item.failure?.errno ?? EIO), false) }
                guard !item.urgent else { return (nil, false) }
                item.urgent = true
                state.items[entryID] = item
                if item.phase == .queued { state.enterLine(item) }
                return (nil, item.phase == .queued)
            }
            if promoted { self.wake.yield() }
            return outcome
        }
    }

    /// A descriptor of the queued bytes of entry `entryID`, the file's newest, if any are queued.
    func openQueuedBytes(of entryID: Int64) throws -> Int32? {
        guard let queued = item(entryID) else { return nil }
        let descriptor = Glibc.open(queued.path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FUSEError.io }
        return descriptor
    }

    /// `user.wechat.state` and `user.wechat.error` of entry `entryID` while something is queued
    /// for it: queued|uploading|failed (with why); nil when nothing is.
    func stateAttributes(of entryID: Int64) -> [String: String]? {
        guard let queued = item(entryID) else { return nil }
        var attributes = [WeChatAttributes.prefix + "state": queued.phase.rawValue]
        if let failure = queued.failure?.display {
            attributes[WeChatAttributes.prefix + "error"] = WeChatAttributes.describe(failure)
        }
        return attributes
    }

    /// `fsync` of a file: waits for its queued upload, however long the queue ahead of it takes,
    /// and fails with that upload's errno. Most fsyncs (every one in sync mode) find nothing
    /// queued: no waiter is set up.
    func waitForQueuedUpload(of entryID: Int64) async throws {
        guard item(entryID) != nil else { return }
        if case .failed(let code) = await wait(for: entryID, timeout: nil) { throw FUSEError(code) }
    }

    /// Waits, at most `timeout` (nil: as long as it takes), until no upload is queued or in
    /// flight; returns how many still are.
    @discardableResult
    func waitUntilSettled(timeout: Duration?) async -> Int {
        await settledWaiters.wait(for: .queue, until: timeout.map { .now + $0 }, timedOut: ()) {
            self.state.withLock { $0.pendingCount == 0 } ? () : nil
        }
        return state.withLock { $0.pendingCount }
    }

    /// The queue for `wxmediafs status` and `wxmediafs sync`.
    func snapshot() -> UploadQueueStatus {
        state.withLock { state in
            let items = state.items.values.sorted { $0.order < $1.order }
            return UploadQueueStatus(
                queued: items.count { $0.phase == .queued }, uploading: items.count { $0.phase == .uploading },
                queuedBytes: items.filter { $0.phase != .failed }.reduce(0) { $0 + $1.size },
                failed: items.compactMap { item in
                    guard var failure = item.failure?.display else { return nil }
                    failure.retryAt = item.retryAt.map(Self.wallClock)
                    return failure
                })
        }
    }

    /// `wxmediafs sync`: the failed uploads that are to be tried again by themselves are tried
    /// now: one first, and the rest if it passes (in an outage `sync` costs one try, not one a
    /// file).
    func retryNow() {
        guard state.withLock({ $0.startProbe(dueBy: nil, releasingAll: true) }) else { return }
        countsChanged()
        wake.yield()
    }

    // MARK: After a restart

    /// Takes up what an earlier run of this cache dir left queued (a crash, a SIGKILL, an
    /// unmount that did not wait for all): its files and failures are on disk.
    func resume() async throws -> Int {
        let files = cache.queuedFiles(in: uploads.queueFolder)
        guard !files.isEmpty else { return 0 }
        let types = try await uploads.resumable(files.map(\.entryID))
        var resumed: [Item] = []
        for file in files {
            guard let type = types[file.entryID] else {
                // Its file was removed meanwhile (or never finished): nothing to upload.
                cache.removeQueued(file.path)
                continue
            }
            var info = stat()
            guard stat(file.path, &info) == 0 else { continue }
            let failure = file.failure.flatMap { QueuedUploadFailure.decode(Array($0)) }
            resumed.append(
                Item(
                    entryID: file.entryID, generation: file.generation, type: type, path: file.path,
                    size: Int64(info.st_size), order: 0, phase: failure == nil ? .queued : .failed, failure: failure))
        }
        let firstTry = ContinuousClock.now + retryDelay
        state.withLock { state in
            for var item in resumed {
                state.nextOrder += 1
                item.order = state.nextOrder
                // A failure that may pass is tried again as in the mount that met it.
                if item.failure?.mayPass == true {
                    item.failuresInARow = 1
                    state.scheduleRetry(of: &item, at: firstTry)
                }
                state.store(item, for: item.entryID)
                if item.phase == .queued { state.enterLine(item) }
            }
        }
        countsChanged()
        wake.yield()
        return resumed.count
    }

    // MARK: Running uploads

    /// The scheduler: each wake starts uploads while fewer than `concurrency` run, each a child
    /// task; ends when `stop` cancels it or the queue goes, once every child has ended.
    private static func schedule(queue current: @escaping @Sendable () -> UploadQueue?, woken wakes: AsyncStream<Void>)
        async
    {
        await withDiscardingTaskGroup { group in
            for await _ in wakes {
                guard let queue = current() else { break }
                let now = ContinuousClock.now
                let (probing, timer) = queue.state.withLock { state in
                    (state.startProbe(dueBy: now, releasingAll: false), state.retryTimerToSet(now: now))
                }
                if probing { queue.countsChanged() }
                while let item = queue.state.withLock({ $0.running.count < queue.concurrency ? $0.takeNext() : nil }) {
                    group.addTask { await queue.run(item) }
                }
                if let timer {
                    // Holds the wake only, not the queue: a queue let go still ends.
                    group.addTask { [wake = queue.wake] in
                        try? await Task.sleep(until: timer)
                        wake.yield()
                    }
                }
            }
            // The wakes ended (stop, or the queue let go): a retry's timer does not hold the loop.
            group.cancelAll()
        }
        guard let queue = current() else { return }
        queue.state.withLock { $0.loopEnded = true }
        queue.stoppedWaiters.answerAll(.queue, with: true)
    }

    private func run(_ item: Item) async {
        let outcome = await uploads.uploadQueued(
            at: item.path, size: item.size, entryID: item.entryID, type: item.type,
            isCurrent: { self.isCurrent(item) })
        if Task.isCancelled {
            // Stopped with the mount: the file stays queued on disk for the next one, not failed.
            state.withLock { state in
                state.running[item.entryID] = nil
                if var mine = state.items[item.entryID], mine.generation == item.generation, mine.phase == .uploading {
                    mine.phase = .queued
                    state.items[item.entryID] = mine
                }
            }
            return
        }
        await finish(item, outcome)
        wake.yield()
    }

    /// Ends the scheduler: no upload starts after it; those in flight are cancelled (their files
    /// stay queued on disk). Waits for them until `deadline`; true if all ended by then.
    func stop(until deadline: ContinuousClock.Instant) async -> Bool {
        loop.withLock { $0 }?.cancel()
        wake.finish()
        return await stoppedWaiters.wait(for: .queue, until: deadline, timedOut: false) {
            self.state.withLock { $0.loopEnded } ? true : nil
        }
    }

    private func isCurrent(_ item: Item) -> Bool {
        state.withLock { $0.items[item.entryID]?.generation == item.generation }
    }

    private func finish(_ item: Item, _ outcome: QueuedOutcome) async {
        let mayPass = if case .failed(_, _, let passing) = outcome { passing } else { false }
        if case .failed(let failure, let code, _) = outcome, isCurrent(item),
            let bytes = try? QueuedUploadFailure(failure, errno: code, mayPass: mayPass).encoded()
        {
            // On disk before the queue counts it failed: whoever learns it settled (`sync`, a
            // waiter, a remount) finds why. Should the file be written again meanwhile, the
            // record goes with the older bytes.
            let cache = self.cache
            _ = try? await BlockingIO.run { cache.recordFailure(Data(bytes), ofQueued: item.path) }
        }
        var record: QueuedUploadFailure?
        var planned: ContinuousClock.Instant?
        let now = ContinuousClock.now
        let retryDelay = self.retryDelay
        let current = state.withLock { state -> Bool in
            state.running[item.entryID] = nil
            let probe = state.takeProbe(item)
            // Bytes written again while these uploaded were passed over in line: back in it.
            if let newer = state.items[item.entryID], newer.generation != item.generation, newer.phase == .queued {
                state.enterLine(newer)
            }
            guard var mine = state.items[item.entryID], mine.generation == item.generation else { return false }
            switch outcome {
            case .uploaded, .superseded:
                state.store(nil, for: item.entryID)
            case .failed(let failure, let code, _):
                mine.phase = .failed
                mine.failure = QueuedUploadFailure(failure, errno: code, mayPass: mayPass)
                if mayPass {
                    mine.failuresInARow = item.failuresInARow + 1
                    state.scheduleRetry(
                        of: &mine, at: now + LaterTries.delay(first: retryDelay, failures: mine.failuresInARow))
                    planned = mine.retryAt
                }
                record = mine.failure
                state.store(mine, for: item.entryID)
            }
            if let probe {
                let passed = if case .uploaded = outcome { true } else { false }
                state.probeEnded(probe, passed: passed, next: mine.retryAt, now: now)
            }
            return true
        }
        switch outcome {
        case .uploaded:
            // Adopted or not, the file has left the queue; a failure record of an earlier try goes.
            cache.removeQueued(item.path)
            if current { entryWaiters.answerAll(item.entryID, with: .nothingQueued) }
        case .superseded:
            // An older generation, or an entry gone: its file is not the current one's.
            cache.removeQueued(item.path)
            if current { entryWaiters.answerAll(item.entryID, with: .nothingQueued) }
        case .failed:
            if !current { cache.removeQueued(item.path) }
            if let record { entryWaiters.answerAll(item.entryID, with: .failed(errno: record.errno)) }
            // After the failure's own line: that it is not the end of it.
            if let record, let planned {
                logger.notice(
                    "\(record.operation) \(record.name): \(MountStatus.Failure.triedAgain(at: Self.wallClock(planned)))"
                )
            }
        }
        countsChanged()
        answerSettledWaitersIfSettled()
    }

    /// The wall-clock time of `instant`, for people (`status`, the log).
    private static func wallClock(_ instant: ContinuousClock.Instant) -> Date {
        Date.now + ContinuousClock.now.duration(to: instant).inSeconds
    }

    private func answerSettledWaitersIfSettled() {
        if state.withLock({ $0.pendingCount == 0 }) { settledWaiters.answerAll(.queue, with: ()) }
    }

    /// The gauges: what waits, and what failed (with a try planned or not).
    private func countsChanged() {
        let (depth, failed, planned) = state.withLock { ($0.pendingCount, $0.failedCount, $0.plannedRetryCount) }
        gauges.depth.record(depth)
        gauges.retryPlanned.record(planned)
        gauges.failedForGood.record(failed - planned)
    }
}
