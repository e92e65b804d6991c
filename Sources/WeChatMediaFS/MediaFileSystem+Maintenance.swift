import FUSEKit
import MediaCatalog
import WeChatMedia

/// The mount's upkeep while it runs. Media live 3 days on the server (or `--media-ttl`):
/// expired entries are hidden at once by every lookup (`Expiry`), and purged here with their
/// cached bytes.
extension MediaFileSystem {
    /// Purges what expired, then keeps the cache within budget.
    public func sweep() async {
        do {
            let now = context.clock.seconds
            let cutoff = context.expiry.cutoff
            let (entries, mediaIDs) = try await context.catalog.purgeExpired(
                bornAtOrBefore: cutoff, plausible: ServerTime.plausibleRange,
                forgetBefore: cutoff.saturatingAdd(-3 * 24 * 3600), now: now)
            for mediaID in mediaIDs { await context.budget.remove(mediaID) }
            for entry in entries {
                await kernelCache.invalidateEntry(parent: Node.inode(of: entry.folder), name: entry.name)
            }
            for mediaID in mediaIDs { await kernelCache.invalidateEntry(parent: Node.byIDFolderInode, name: mediaID) }
            if !entries.isEmpty || !mediaIDs.isEmpty {
                context.logger.info("purged \(entries.count) expired entries and \(mediaIDs.count) media ids")
            }
        } catch {
            context.logger.error("expiry sweep failed: \(error)")
        }
        await context.budget.evictIfNeeded()
    }

    /// Sweeps every `settings.sweepInterval` until the task is cancelled, builds the article
    /// folders that fell due, and follows the publishing jobs. With a shared catalog, also follows what other hosts change.
    public func maintain() async {
        let changes = context.catalog.foreignChanges()
        await withTaskGroup(of: Void.self) { group in
            if let changes { group.addTask { await self.follow(changes) } }
            if let drafts {
                group.addTask { await drafts.builds.run() }
                group.addTask { await drafts.publishing.run() }
            }
            group.addTask {
                while !Task.isCancelled {
                    await self.sweep()
                    try? await Task.sleep(for: self.context.settings.sweepInterval)
                }
            }
        }
    }
}

extension MediaFileSystem {
    /// Polls the publishing jobs that are due (what `maintain` does every few seconds); how
    /// many polls it spent.
    @discardableResult
    public func pollPublishing() async -> Int {
        await drafts?.publishing.pollDue() ?? 0
    }
}
