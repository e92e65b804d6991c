import CoreMetrics

/// The content cache's numbers for the metrics endpoint (see `APIMetrics` in WeChatMedia for
/// how they reach it): a hit is a file opened for reading from cached bytes, a miss one opened
/// to be read through a download.
enum CacheMetrics {
    static func opened(_ file: OpenFile) {
        switch file {
        case .cached: Counter(label: "wxmediafs_cache_hits_total").increment()
        case .remote: Counter(label: "wxmediafs_cache_misses_total").increment()
        case .write, .bytes, .ignoredWrites, .local: break
        }
    }

    static func evicted() { Counter(label: "wxmediafs_cache_evictions_total").increment() }

    static func holds(bytes: Int64) { Gauge(label: "wxmediafs_cache_bytes").record(bytes) }
}
