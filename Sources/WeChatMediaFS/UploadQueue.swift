import CoreMetrics
import FUSEKit
import Foundation
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
/// (its bytes, its reason, on disk) until the file is removed or written again. State is
/// behind a lock held for dictionary work only, never across an `await`.
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
        var failure: FailureRecord?
    }

    /// Why a queued upload failed: kept beside its file, so a remount still tells it.
    struct FailureRecord: Codable, Sendable {
        var failure: MountStatus.Failure
        var errno: Int32
    }

    private struct State {
        var items: [Int64: Item] = [:]
        /// Entries whose upload is in flight, with the generation it uploads.
        var running: [Int64: UInt64] = [:]
        var nextOrder: UInt64 = 0
        var nextGeneration: UInt64
        var nextWaiter: UInt64 = 0
        var waiters: [Int64: [UInt64: CheckedContinuation<Outcome, Never>]] = [:]
        var settledWaiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose bound passed before they were registered.
        var expired: Set<UInt64> = []

        var pendingCount: Int { items.values.count { $0.phase != .failed } }
    }

    private let state: Mutex<State>
    private let concurrency: Int
    private let catalog: any Catalog
    private let cache: ContentCache
    private let uploader: Uploader

    init(concurrency: Int, catalog: any Catalog, cache: ContentCache, uploader: Uploader) {
        self.concurrency = max(1, concurrency)
        self.catalog = catalog
        self.cache = cache
        self.uploader = uploader
        // Generations name files on disk: starting from the clock keeps them growing across restarts.
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let start = UInt64(max(0, now.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, now.tv_nsec))
        self.state = Mutex(State(nextGeneration: start))
        depthChanged()
    }

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
            let cache = self.cache
            path = try await BlockingIO.run {
                try cache.enqueue(
                    spoolPath: spool.path, descriptor: spool.descriptor, entryID: entryID, generation: generation)
            }
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
        do {
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
        } catch {
            // Not queued: the bytes go back to the handle, which fails its close.
            rename(path, spool.path)
            throw error
        }
        let replaced = state.withLock { state -> Item? in
            state.nextOrder += 1
            let old = state.items[entryID]
            state.items[entryID] = Item(
                entryID: entryID, generation: generation, type: type, path: path, size: size, order: state.nextOrder,
                urgent: old?.urgent ?? false)
            return old
        }
        if let replaced { cache.removeQueued(replaced.path) }
        depthChanged()
        pump()
    }

    /// Forgets what is queued for entry `entryID` (removed, or replaced by a rename): its file
    /// goes, and an upload in flight for it is dropped when it answers.
    func forget(_ entryID: Int64) {
        let (removed, waiters) = state.withLock { state in
            (state.items.removeValue(forKey: entryID), state.waiters.removeValue(forKey: entryID) ?? [:])
        }
        guard let removed else { return }
        cache.removeQueued(removed.path)
        waiters.values.forEach { $0.resume(returning: .nothingQueued) }
        depthChanged()
        resumeSettledWaitersIfSettled()
    }

    // MARK: Questions

    /// What is queued for entry `entryID`, if anything.
    func item(_ entryID: Int64) -> Item? { state.withLock { $0.items[entryID] } }

    /// Waits, at most `timeout` (nil: as long as it takes), until the entry's queued upload
    /// ended, and puts it first in the queue meanwhile.
    func wait(for entryID: Int64, timeout: Duration?) async -> Outcome {
        let waiter = newWaiter()
        let timer = Self.timer(after: timeout) { self.expire(waiter, of: entryID) }
        defer { timer?.cancel() }
        let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
            let now = state.withLock { state -> Outcome? in
                guard var item = state.items[entryID] else { return .nothingQueued }
                if item.phase == .failed { return .failed(errno: item.failure?.errno ?? EIO) }
                if state.expired.remove(waiter) != nil { return .timedOut }
                item.urgent = true
                state.items[entryID] = item
                state.waiters[entryID, default: [:]][waiter] = continuation
                return nil
            }
            if let now { continuation.resume(returning: now) } else { pump() }
        }
        return outcome
    }

    private func newWaiter() -> UInt64 {
        state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
    }

    /// Calls `expire` once `timeout` has passed, unless cancelled first; nil for no bound.
    private static func timer(after timeout: Duration?, _ expire: @escaping @Sendable () -> Void) -> Task<Void, Never>?
    {
        guard let timeout else { return nil }
        return Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            expire()
        }
    }

    private func expireSettledWaiter(_ waiter: UInt64) {
        let continuation = state.withLock { state in
            let found = state.settledWaiters.removeValue(forKey: waiter)
            if found == nil { state.expired.insert(waiter) }
            return found
        }
        continuation?.resume()
    }

    private func expire(_ waiter: UInt64, of entryID: Int64) {
        let continuation = state.withLock { state in
            let found = state.waiters[entryID]?.removeValue(forKey: waiter)
            if found == nil { state.expired.insert(waiter) }
            return found
        }
        continuation?.resume(returning: .timedOut)
    }

    /// Waits, at most `timeout` (nil: as long as it takes), until no upload is queued or in
    /// flight; returns how many still are.
    @discardableResult
    func waitUntilSettled(timeout: Duration?) async -> Int {
        let waiter = newWaiter()
        let timer = Self.timer(after: timeout) { self.expireSettledWaiter(waiter) }
        defer { timer?.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let settled = state.withLock { state in
                guard state.pendingCount > 0, state.expired.remove(waiter) == nil else { return true }
                state.settledWaiters[waiter] = continuation
                return false
            }
            if settled { continuation.resume() }
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
                failed: items.compactMap { $0.failure?.failure })
        }
    }

    // MARK: After a restart

    /// Takes up what an earlier run of this cache dir left queued (a crash, a SIGKILL, an
    /// unmount that did not wait for all): its files and failures are on disk.
    func resume() async throws -> Int {
        let files = cache.queuedFiles()
        guard !files.isEmpty else { return 0 }
        try await catalog.adoptQueuedEntries(files.map(\.entryID))
        var resumed: [Item] = []
        for file in files {
            guard let entry = try await catalog.entry(id: file.entryID), !entry.isDirectory, entry.state != .writing
            else {
                // Its file was removed meanwhile (or never finished): nothing to upload.
                cache.removeQueued(file.path)
                continue
            }
            var info = stat()
            guard stat(file.path, &info) == 0 else { continue }
            let failure = file.failure.flatMap { try? JSONDecoder().decode(FailureRecord.self, from: $0) }
            resumed.append(
                Item(
                    entryID: file.entryID, generation: file.generation, type: entry.type, path: file.path,
                    size: Int64(info.st_size), order: 0, phase: failure == nil ? .queued : .failed, failure: failure))
        }
        state.withLock { state in
            for var item in resumed {
                state.nextOrder += 1
                item.order = state.nextOrder
                state.items[item.entryID] = item
            }
        }
        depthChanged()
        pump()
        return resumed.count
    }

    // MARK: Running uploads

    /// Starts uploads while fewer than `concurrency` run.
    private func pump() {
        let starting = state.withLock { state -> [Item] in
            var starting: [Item] = []
            while state.running.count < concurrency {
                let next = state.items.values
                    .filter { $0.phase == .queued && state.running[$0.entryID] == nil }
                    .min { ($0.urgent ? 0 : 1, $0.order) < ($1.urgent ? 0 : 1, $1.order) }
                guard var item = next else { break }
                item.phase = .uploading
                state.items[item.entryID] = item
                state.running[item.entryID] = item.generation
                starting.append(item)
            }
            return starting
        }
        for item in starting {
            Task { await self.run(item) }
        }
    }

    private func run(_ item: Item) async {
        let outcome = await uploader.uploadQueued(
            at: item.path, size: item.size, entryID: item.entryID, type: item.type,
            isCurrent: { self.isCurrent(item) })
        await finish(item, outcome)
        pump()
    }

    private func isCurrent(_ item: Item) -> Bool {
        state.withLock { $0.items[item.entryID]?.generation == item.generation }
    }

    private func finish(_ item: Item, _ outcome: Uploader.QueuedOutcome) async {
        var record: FailureRecord?
        let (current, waiters) = state.withLock { state -> (Bool, [CheckedContinuation<Outcome, Never>]) in
            state.running[item.entryID] = nil
            guard var mine = state.items[item.entryID], mine.generation == item.generation else { return (false, []) }
            switch outcome {
            case .uploaded, .superseded:
                state.items[item.entryID] = nil
                return (true, Array((state.waiters.removeValue(forKey: item.entryID) ?? [:]).values))
            case .failed(let failure, let code):
                mine.phase = .failed
                mine.failure = FailureRecord(failure: failure, errno: code)
                record = mine.failure
                state.items[item.entryID] = mine
                return (true, Array((state.waiters.removeValue(forKey: item.entryID) ?? [:]).values))
            }
        }
        switch outcome {
        case .uploaded(let adopted):
            if !adopted { cache.removeQueued(item.path) }
            waiters.forEach { $0.resume(returning: .nothingQueued) }
        case .superseded:
            // An older generation, or an entry gone: its file is not the current one's.
            cache.removeQueued(item.path)
            waiters.forEach { $0.resume(returning: .nothingQueued) }
        case .failed:
            if !current { cache.removeQueued(item.path) }
            if let record {
                // On disk before anyone is told: a remount still knows why.
                if let data = try? JSONEncoder().encode(record) {
                    let cache = self.cache
                    _ = try? await BlockingIO.run { cache.recordFailure(data, ofQueued: item.path) }
                }
                waiters.forEach { $0.resume(returning: .failed(errno: record.errno)) }
            }
        }
        depthChanged()
        resumeSettledWaitersIfSettled()
    }

    private func resumeSettledWaitersIfSettled() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard state.pendingCount == 0 else { return [] }
            defer { state.settledWaiters = [:] }
            return Array(state.settledWaiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    private func depthChanged() {
        let depth = state.withLock { $0.pendingCount }
        Gauge(label: "wxmediafs_upload_queue_depth").record(depth)
    }
}

/// The background queue as `wxmediafs status` and `wxmediafs sync` tell it.
public struct UploadQueueStatus: Codable, Sendable {
    /// Files waiting for their upload to start.
    public var queued: Int
    /// Uploads in flight (their progress is in the status's transfers).
    public var uploading: Int
    /// Bytes of the files queued or uploading.
    public var queuedBytes: Int64
    /// Files whose upload failed, listed without a sidecar until removed or written again.
    public var failed: [MountStatus.Failure]
}
