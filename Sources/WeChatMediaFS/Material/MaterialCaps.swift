import CoreMetrics
import MediaCatalog
import Synchronization
import WeChatMedia

/// How full each material type is: the counts `get_materialcount` answered (refreshed with the
/// listing), what this mount added and deleted since, and the types the server said are full
/// (45034). A copy into a full type fails with EDQUOT before any byte is sent.
final class MaterialCaps: Sendable {
    /// The current docs' caps: thumbs count with images.
    static let limits: [MediaType: Int] = [.image: 100_000, .voice: 1_000, .video: 1_000]

    private struct State {
        var counts: [MediaType: Int] = [:]
        /// Types the server refused as full since the last count.
        var full: Set<MediaType> = []
    }

    private let state = Mutex(State())

    /// The type whose count `folder` spends; nil for article images, which no cap bounds.
    static func countedType(of folder: MaterialFolder) -> MediaType? {
        switch folder {
        case .image, .thumb: .image
        case .voice: .voice
        case .video: .video
        case .articleImages: nil
        }
    }

    func count(of folder: MaterialFolder) -> Int? {
        guard let type = Self.countedType(of: folder) else { return nil }
        return state.withLock { $0.counts[type] }
    }

    func limit(of folder: MaterialFolder) -> Int? {
        Self.countedType(of: folder).flatMap { Self.limits[$0] }
    }

    var isKnown: Bool { state.withLock { !$0.counts.isEmpty } }

    /// Whether a copy into `folder` must fail before it is sent.
    func isFull(_ folder: MaterialFolder) -> Bool {
        guard let type = Self.countedType(of: folder), let limit = Self.limits[type] else { return false }
        return state.withLock { state in state.full.contains(type) || (state.counts[type] ?? 0) >= limit }
    }

    /// Why a copy into a full `folder` is refused, as the log and `status` say it.
    func fullReason(_ folder: MaterialFolder) -> String {
        "the library's \(folder.rawValue) material is at its cap (\(limit(of: folder) ?? 0)): nothing sent"
    }

    func record(_ counts: MaterialCounts) {
        // Whatever service answered, a count is a count: held between none and far past any cap.
        let plausible = { (count: Int) in max(0, min(count, 1 << 40)) }
        let recorded: [MediaType: Int] = [
            .image: plausible(counts.image), .voice: plausible(counts.voice), .video: plausible(counts.video),
        ]
        state.withLock { state in
            state.counts = recorded
            state.full = []
        }
        for (type, count) in recorded {
            Gauge(label: "wxmediafs_material_count", dimensions: [("type", type.rawValue)]).record(count)
            Gauge(label: "wxmediafs_material_limit", dimensions: [("type", type.rawValue)])
                .record(Self.limits[type] ?? 0)
        }
    }

    func added(to folder: MaterialFolder) { change(folder, by: 1) }
    func removed(from folder: MaterialFolder) { change(folder, by: -1) }

    func markFull(_ folder: MaterialFolder) {
        guard let type = Self.countedType(of: folder) else { return }
        _ = state.withLock { $0.full.insert(type) }
    }

    private func change(_ folder: MaterialFolder, by delta: Int) {
        guard let type = Self.countedType(of: folder) else { return }
        state.withLock { state in
            guard let count = state.counts[type] else { return }
            state.counts[type] = max(0, count + delta)
            if delta < 0 { state.full.remove(type) }
        }
    }

    /// What `wxmediafs status` shows: each counted type's count and cap, when known.
    func snapshot() -> [(type: MediaType, count: Int, limit: Int)] {
        state.withLock { state in
            [MediaType.image, .voice, .video].compactMap { type in
                state.counts[type].map { (type, $0, Self.limits[type] ?? 0) }
            }
        }
    }
}
