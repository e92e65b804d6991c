import Deadlines
import Foundation
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// What `wxmediafs status` shows: gathered from the pieces that know it, never from the server.
extension MediaFileSystem {
    public func status(mountpoint: String, apiBase: String, startedAt: Date) async -> MountStatus {
        let (transfers, failures) = activity.snapshot()
        let tokenAge = await context.service.tokenAge()
        let catalogHealth = await context.catalog.health()
        // Files stopped hosts left queued hold their names for the fleet: said until released.
        let stoppedQueues = catalogHealth.reachable ? ((try? await context.catalog.foreignQueues()) ?? []) : []
        var status = MountStatus(
            mountpoint: mountpoint, pid: getpid(), apiBase: apiBase, startedAt: startedAt, transfers: transfers,
            recentFailures: failures, cacheBytes: await context.budget.usedBytes,
            cacheMaxBytes: context.settings.cacheMaxBytes,
            tokenAgeSeconds: tokenAge.map(\.inSeconds),
            requests: context.service.requestCounts().map {
                MountStatus.Requests(kind: $0.kind.rawValue, sent: $0.count.sent, failed: $0.count.failed)
            }, catalog: catalogHealth, uploadMode: context.settings.uploadMode,
            uploadQueue: queuedUploads())
        status.stoppedHostsQueues = stoppedQueues
        if let fill = material?.caps.snapshot(), !fill.isEmpty {
            status.material = fill.map {
                MountStatus.MaterialFill(type: $0.type.rawValue, count: $0.count, limit: $0.limit)
            }
        }
        status.drafts = await drafts?.statusLines()
        return status
    }
}
