import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// `/by-id/`: every live media id the catalog knows, and any other id, looked up with HEAD.
extension MediaFileSystem {
    func lookupByID(_ name: String) async throws -> Entry {
        // Past NAME_MAX no name can exist, here as on any filesystem.
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
        // Never a media id (.Trash, autorun.inf, .hidden): answered here, and for long.
        guard OpaqueID.isWellFormed(name, maxLength: 128) else {
            return .negative(timeout: settings.fixedNegativeTimeout)
        }
        if let media = try await catalog.knownMedia(name) {
            // A known id that expired stays hidden: the server is not asked again.
            guard isAlive(bornAt: media.bornAt, now: clock.seconds) else { return negative }
            return entry(await byIDAttributes(of: media), timeout: expiryBoundedTimeout(bornAt: media.bornAt))
        }
        let answer: RemoteMedia
        do {
            answer = try await service.head(mediaID: name)
        } catch let error as APIError where error.kind == .notFound {
            return negative
        } catch let error as APIError where error.code == .invalidMediaType {
            // The seed API's answer for a video: it exists but cannot be downloaded.
            let media = KnownMedia(
                mediaID: name, type: .video, size: nil, contentType: "video/mp4", createdAt: nil,
                firstSeen: clock.seconds)
            try await catalog.record(media)
            return entry(await byIDAttributes(of: media))
        } catch {
            throw reporter.report("lookup", of: "by-id/" + name, error)
        }
        let media: KnownMedia
        switch answer {
        case .file(let file):
            media = KnownMedia(
                mediaID: name, type: Self.mediaType(forContentType: file.contentType), size: file.size,
                contentType: file.contentType, createdAt: nil, firstSeen: clock.seconds)
        case .video:
            media = KnownMedia(
                mediaID: name, type: .video, size: nil, contentType: "video/mp4", createdAt: nil,
                firstSeen: clock.seconds)
        }
        try await catalog.record(media)
        return entry(await byIDAttributes(of: media))
    }

    func byIDAttributes(of media: KnownMedia) async -> FileAttributes {
        let number = byIDInodes.number(for: media.mediaID)
        let born = timespec(seconds: media.bornAt)
        return FileAttributes(
            inode: Node.byID(number).inode, kind: .file, permissions: 0o444, uid: settings.uid, gid: settings.gid,
            size: UInt64(max(0, media.size ?? 0)), accessTime: born, modificationTime: born, changeTime: born)
    }

    /// Listing offsets past the fixed two are catalog row ids plus 2: stable as ids come and go.
    func byIDListing(after offset: Int64) async throws -> [DirectoryEntry] {
        let now = clock.seconds
        let bornAfter = now.saturatingAdd(-settings.mediaLifetimeSeconds)
        let page = try await catalog.knownMedia(bornAfter: bornAfter, afterRowID: max(0, offset - 2), limit: 1000)
        var result: [DirectoryEntry] = []
        for (rowID, media) in page where isAlive(bornAt: media.bornAt, now: now) {
            result.append(
                DirectoryEntry(
                    name: media.mediaID, attributes: await byIDAttributes(of: media), offset: rowID + 2,
                    cacheTimeout: expiryBoundedTimeout(bornAt: media.bornAt)))
        }
        return result
    }

    static func mediaType(forContentType contentType: String) -> MediaType? {
        let lowered = contentType.lowercased()
        if lowered.hasPrefix("image/") { return .image }
        if lowered.hasPrefix("audio/") || lowered.hasPrefix("voice/") { return .voice }
        if lowered.hasPrefix("video/") { return .video }
        return nil
    }

    /// `/by-id/` files are the only inodes with a row of their own: the rest are numbered from
    /// catalog ids. The kernel's references keep the row.
    public func referenced(inode: Inode) {
        if case .byID(let number) = Node(inode) { byIDInodes.referenced(number) }
    }

    public func forget(inode: Inode, lookups: UInt64) async {
        if case .byID(let number) = Node(inode) { byIDInodes.forget(number, lookups: lookups) }
    }
}
