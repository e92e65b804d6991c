import Foundation
import WeChatMediaFS

/// The human form of a status answer.
struct StatusReport {
    let status: MountStatus
    let now: Date

    var text: String {
        var lines = [
            "wxmediafs at \(status.mountpoint), api \(status.apiBase), up \(Self.duration(now.timeIntervalSince(status.startedAt)))"
        ]
        lines.append("")
        if status.transfers.isEmpty {
            lines.append("Transfers: none in flight")
        } else {
            lines.append("Transfers in flight:")
            for transfer in status.transfers {
                lines.append("  " + Self.line(transfer, now: now))
            }
        }
        lines.append("")
        if status.recentFailures.isEmpty {
            lines.append("Recent failures: none")
        } else {
            lines.append("Recent failures (newest last):")
            let format = ISO8601DateFormatter()
            for failure in status.recentFailures {
                lines.append("  \(format.string(from: failure.at))  \(failure.summary)")
            }
        }
        if let queue = status.uploadQueue { lines += Self.queueLines(queue, mode: status.uploadMode) }
        lines.append("")
        let share = status.cacheMaxBytes > 0 ? Double(status.cacheBytes) / Double(status.cacheMaxBytes) : 0
        lines.append(
            "Cache: \(Self.bytes(status.cacheBytes)) of \(Self.bytes(status.cacheMaxBytes)) \(Self.bar(share)) \(Int(share * 100))%"
        )
        lines.append(
            "Access token: " + (status.tokenAgeSeconds.map { Self.duration($0) + " old" } ?? "none fetched yet"))
        let requests = status.requests.map { "\($0.kind) \($0.sent)" + ($0.failed > 0 ? " (\($0.failed) failed)" : "") }
        lines.append("Requests: " + (requests.isEmpty ? "none yet" : requests.joined(separator: ", ")))
        if let catalog = status.catalog {
            var state = catalog.reachable ? "reachable" : "UNREACHABLE (\(catalog.problem ?? "no answer"))"
            if !catalog.reachable, let since = catalog.unreachableSince {
                let date = Date(timeIntervalSince1970: Double(since) / 1e9)
                state += "; since \(date.formatted(.iso8601)) this host answers from its last view, read-only"
            }
            lines.append("Catalog: \(catalog.location), \(state)")
        }
        for queue in status.stoppedHostsQueues ?? [] {
            lines.append(
                "Stopped host's queue: \(queue.files) file(s) queued on \(queue.host), which is not running; "
                    + "they hold their names until it mounts again or 'wxmediafs release-queue MOUNTPOINT --host \(queue.host)'"
            )
        }
        if let quota = status.quota { lines.append(Self.quotaLine(quota, now: now)) }
        if let material = status.material {
            // "Material library: image 3 of 100000, voice 1 of 1000, video 0 of 1000".
            lines.append(
                "Material library: " + material.map { "\($0.type) \($0.count) of \($0.limit)" }.joined(separator: ", "))
        }
        for draft in status.drafts ?? [] {
            // "Draft drafts/cat-week: waiting for cover.jpg".
            lines.append("Draft \(draft.path): \(draft.state)" + (draft.reason.map { ", \($0)" } ?? ""))
        }
        if let url = status.metricsURL { lines.append("Metrics: \(url)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// "Upload queue (background): 12 queued, 8 uploading, 1.9 MiB" and a line per failed file.
    static func queueLines(_ queue: UploadQueueStatus, mode: UploadMode?) -> [String] {
        let pending = queue.queued + queue.uploading
        guard pending > 0 || !queue.failed.isEmpty || mode == .background else { return [] }
        var lines = [""]
        lines.append(
            "Upload queue (\(mode?.rawValue ?? "sync")): "
                + (pending == 0
                    ? "empty"
                    : "\(queue.queued) queued, \(queue.uploading) uploading, \(bytes(queue.queuedBytes))"))
        if !queue.failed.isEmpty {
            lines.append("Failed uploads (listed without a sidecar until removed or written again):")
            lines += queue.failed.map { "  \($0.summaryWithRetry)" }
        }
        return lines
    }

    /// "Daily quota: upload 99997 of 100000 left, download 200000 of 200000 left (asked 12.0 s ago)".
    static func quotaLine(_ readings: [MountStatus.Quota], now: Date) -> String {
        guard let asked = readings.map(\.askedAt).min() else { return "Daily quota: not known yet (asking the server)" }
        let parts = readings.map { reading in
            if let remain = reading.remain, let limit = reading.dailyLimit {
                return "\(reading.kind) \(remain) of \(limit) left"
            }
            return "\(reading.kind) unknown (\(reading.error ?? "no answer"))"
        }
        return "Daily quota: " + parts.joined(separator: ", ")
            + " (asked \(duration(now.timeIntervalSince(asked))) ago)"
    }

    static func line(_ transfer: MountStatus.Transfer, now: Date) -> String {
        let elapsed = duration(now.timeIntervalSince(transfer.startedAt))
        guard let total = transfer.bytesTotal, total > 0 else {
            return "\(transfer.kind.rawValue)  \(transfer.name)  \(bytes(transfer.bytesDone))  \(elapsed)"
        }
        let share = min(1, Double(transfer.bytesDone) / Double(total))
        return
            "\(transfer.kind.rawValue)  \(transfer.name)  \(bar(share)) \(Int(share * 100))%  \(bytes(transfer.bytesDone)) of \(bytes(total))  \(elapsed)"
    }

    static func bar(_ share: Double, width: Int = 20) -> String {
        let filled = max(0, min(width, Int((share * Double(width)).rounded(.down))))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f", value) + " " + units[unit]
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds))
        if whole < 60 { return String(format: "%.1f s", max(0, seconds)) }
        if whole < 3600 { return "\(whole / 60) min \(whole % 60) s" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }
}
