import LocalByteStore
import MediaCatalog

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the content cache within its byte cap and above a floor of free disk by evicting the
/// least recently used files. Files open for reading are pinned and never evicted; an evicted
/// upload stays readable, downloaded again on its next read. Bytes the API cannot serve again
/// (videos: the seed API never downloads them) are the only copy: they go last, only to keep the
/// floor, and each such eviction is reported. Spool files of writes in progress live outside
/// the content cache and are not counted.
actor CacheBudget {
    private struct Use {
        var size: Int64
        var lastUse: UInt64
    }

    private let cache: ContentCache
    private let maxBytes: Int64
    private let minimumFreeBytes: Int64
    private var files: [String: Use] = [:]
    private var pins: [String: Int] = [:]
    private var irreplaceable: Set<String> = []
    private let reporter: FailureReporter?
    private var total: Int64 = 0 {
        didSet { CacheMetrics.holds(bytes: total) }
    }
    /// A logical clock for recency: cheaper and steadier than wall time.
    private var tick: UInt64 = 0

    init(cache: ContentCache, maxBytes: Int64, minimumFreeBytes: Int64, reporter: FailureReporter? = nil) {
        self.cache = cache
        self.reporter = reporter
        self.maxBytes = maxBytes
        self.minimumFreeBytes = minimumFreeBytes
        // Oldest first, so the files of an earlier run keep their order.
        for file in cache.cachedFiles().sorted(by: { $0.lastUse < $1.lastUse }) {
            tick += 1
            files[file.mediaID] = Use(size: file.size, lastUse: tick)
            total += file.size
        }
        // Observers do not run for assignments in init.
        CacheMetrics.holds(bytes: total)
    }

    /// Bytes the content cache holds now.
    var usedBytes: Int64 { total }

    /// A complete file of `size` bytes for `mediaID` arrived; returns the ids evicted to make room.
    @discardableResult
    func added(_ mediaID: String, size: Int64, irreplaceable isOnlyCopy: Bool = false) -> [String] {
        if isOnlyCopy { irreplaceable.insert(mediaID) }
        if let old = files[mediaID] { total -= old.size }
        tick += 1
        files[mediaID] = Use(size: size, lastUse: tick)
        total += size
        return evictIfNeeded()
    }

    /// Marks cached media the API cannot serve again (known from the catalog after a remount).
    func markIrreplaceable(_ mediaIDs: [String]) { irreplaceable.formUnion(mediaIDs) }

    func touched(_ mediaID: String) {
        guard files[mediaID] != nil else { return }
        tick += 1
        files[mediaID]?.lastUse = tick
    }

    func pin(_ mediaID: String) {
        pins[mediaID, default: 0] += 1
        touched(mediaID)
    }

    func unpin(_ mediaID: String) {
        guard let count = pins[mediaID] else { return }
        pins[mediaID] = count > 1 ? count - 1 : nil
    }

    func isPinned(_ mediaID: String) -> Bool { pins[mediaID] != nil }

    /// Deletes the cached bytes of `mediaID` unless they are open.
    func remove(_ mediaID: String) {
        guard !isPinned(mediaID) else { return }
        cache.removeContent(for: mediaID)
        irreplaceable.remove(mediaID)
        if let old = files.removeValue(forKey: mediaID) { total -= old.size }
    }

    /// Evicts least recently used, unpinned files while over the cap or under the free-disk
    /// floor (`keepingFree`: a write about to take that much more asks for more).
    @discardableResult
    func evictIfNeeded(keepingFree floor: Int64? = nil) -> [String] {
        let minimumFreeBytes = max(floor ?? 0, self.minimumFreeBytes)
        var evicted: [String] = []
        while true {
            let belowFloor = cache.freeBytes() < minimumFreeBytes
            guard total > maxBytes || belowFloor else { break }
            let unpinned = files.filter { pins[$0.key] == nil }
            let replaceable = unpinned.filter { !irreplaceable.contains($0.key) }
            // The only copy of media goes for the floor alone (a full disk), never for the cap.
            // A write asking for room never costs an only copy: it fails with ENOSPC instead.
            let candidates = replaceable.isEmpty && belowFloor && floor == nil ? unpinned : replaceable
            guard let victim = candidates.min(by: { $0.value.lastUse < $1.value.lastUse })?.key else { break }
            if irreplaceable.contains(victim) {
                reporter?.report(
                    "evict", of: "by-id/" + victim, OnlyCopyEvicted(), errno: ENOSPC,
                    reason:
                        "the only copy (the API does not serve video downloads), evicted to keep \(minimumFreeBytes) bytes free on the cache disk"
                )
            }
            remove(victim)
            evicted.append(victim)
            CacheMetrics.evicted()
        }
        return evicted
    }
}

/// Why an eviction is reported: the bytes cannot be had again.
struct OnlyCopyEvicted: Error, CustomStringConvertible {
    var description: String { "the only copy of the media was evicted" }
}
