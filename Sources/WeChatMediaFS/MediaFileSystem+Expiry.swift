import FUSEKit
import MediaCatalog
import WeChatMedia

/// Media live 3 days on the server (or `--media-ttl`): expired entries are hidden at once by every
/// lookup, and purged here with their cached bytes; an id the server no longer knows goes too.
extension MediaFileSystem {
    /// Purges what expired, then keeps the cache within budget.
    public func sweep() async {
        do {
            let now = clock.seconds
            let cutoff = now.saturatingAdd(-settings.mediaLifetimeSeconds)
            let (entries, mediaIDs) = try await catalog.purgeExpired(
                bornAtOrBefore: cutoff, plausible: ServerTime.plausibleRange,
                forgetBefore: cutoff.saturatingAdd(-3 * 24 * 3600), now: now)
            for mediaID in mediaIDs { await budget.remove(mediaID) }
            for entry in entries {
                await kernelCache.invalidateEntry(parent: Node.inode(of: entry.folder), name: entry.name)
            }
            for mediaID in mediaIDs { await kernelCache.invalidateEntry(parent: Node.byIDFolderInode, name: mediaID) }
            if !entries.isEmpty || !mediaIDs.isEmpty {
                logger.info("purged \(entries.count) expired entries and \(mediaIDs.count) media ids")
            }
        } catch {
            logger.error("expiry sweep failed: \(error)")
        }
        await budget.evictIfNeeded()
    }

    /// Sweeps every `settings.sweepInterval` until the task is cancelled.
    /// With a shared catalog, also follows what other hosts change.
    public func maintain() async {
        let changes = catalog.foreignChanges()
        await withTaskGroup(of: Void.self) { group in
            if let changes { group.addTask { await self.follow(changes) } }
            group.addTask {
                while !Task.isCancelled {
                    await self.sweep()
                    try? await Task.sleep(for: self.settings.sweepInterval)
                }
            }
        }
    }

    /// The server answered 40007 for media the catalog believed alive: the server wins.
    func serverForgot(_ mediaID: String) async {
        logger.notice("the server no longer has \(mediaID) (errcode 40007): hiding it")
        let entries = (try? await catalog.forgetMediaEverywhere(mediaID)) ?? []
        await budget.remove(mediaID)
        // Not awaited: this runs inside a read, and the kernel may hold the folder's lock.
        let cache = kernelCache
        Task.detached {
            for entry in entries { await cache.invalidateEntry(parent: Node.inode(of: entry.folder), name: entry.name) }
            await cache.invalidateEntry(parent: Node.byIDFolderInode, name: mediaID)
        }
    }
}
