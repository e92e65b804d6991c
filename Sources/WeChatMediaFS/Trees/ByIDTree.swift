import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// `/by-id/`: every live media id the catalog knows, and any other id, looked up with HEAD.
/// Read-only; its files' inodes are numbered as long as the kernel holds them.
struct ByIDTree: MediaTree, DerivedAttributes {
    let context: MountContext
    let inodes = ByIDInodes()

    var topFolders: [(name: String, node: Node)] { [("by-id", .byIDFolder)] }

    func owns(_ node: Node) -> Bool {
        switch node {
        case .byIDFolder, .byID: true
        default: false
        }
    }

    func lookup(_ name: String, in folder: Node) async throws -> Entry {
        guard folder == .byIDFolder else { throw FUSEError.notDirectory }
        // Past NAME_MAX no name can exist, here as on any filesystem.
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
        // Never a media id (.Trash, autorun.inf, .hidden): answered here, and for long.
        guard OpaqueID.isWellFormed(name, maxLength: 128) else {
            return .negative(timeout: context.settings.fixedNegativeTimeout)
        }
        let expiry = context.expiry
        if let media = try await context.catalog.knownMedia(name) {
            // A known id that expired stays hidden: the server is not asked again.
            guard expiry.isAlive(bornAt: media.bornAt, now: context.clock.seconds) else { return context.negative }
            return context.entry(attributes(of: media), timeout: expiry.boundedTimeout(bornAt: media.bornAt))
        }
        let answer: RemoteMedia
        do {
            answer = try await context.service.head(mediaID: name)
        } catch let error as APIError where error.kind == .notFound {
            return context.negative
        } catch let error as APIError where error.code == .invalidMediaType {
            // The seed API's answer for a video: it exists but cannot be downloaded.
            return try await record(
                KnownMedia(
                    mediaID: name, type: .video, size: nil, contentType: "video/mp4", createdAt: nil,
                    firstSeen: context.clock.seconds))
        } catch {
            throw context.reporter.report("lookup", of: "by-id/" + name, error)
        }
        switch answer {
        case .file(let file):
            return try await record(
                KnownMedia(
                    mediaID: name, type: Self.mediaType(forContentType: file.contentType), size: file.size,
                    contentType: file.contentType, createdAt: nil, firstSeen: context.clock.seconds))
        case .video:
            return try await record(
                KnownMedia(
                    mediaID: name, type: .video, size: nil, contentType: "video/mp4", createdAt: nil,
                    firstSeen: context.clock.seconds))
        }
    }

    private func record(_ media: KnownMedia) async throws -> Entry {
        try await context.catalog.record(media)
        return context.entry(attributes(of: media))
    }

    func attributes(of node: Node) async throws -> (FileAttributes, timeout: Double) {
        switch node {
        case .byID(let number):
            guard let mediaID = inodes.mediaID(for: number), let media = try await context.expiry.knownMedia(mediaID)
            else { throw FUSEError.notFound }
            return (attributes(of: media), context.expiry.boundedTimeout(bornAt: media.bornAt))
        default:
            return (context.fixedFolderAttributes(.byIDFolder, permissions: 0o555), context.settings.cacheTimeout)
        }
    }

    /// Listing offsets past the fixed two are catalog row ids plus 2: stable as ids come and go.
    func listing(of folder: Node, past offset: Int64) async throws -> [DirectoryEntry] {
        guard folder == .byIDFolder else { throw FUSEError.notDirectory }
        let now = context.clock.seconds
        let expiry = context.expiry
        let page = try await context.catalog.knownMedia(
            bornAfter: expiry.cutoff, afterRowID: max(0, offset - 2), limit: 1000)
        return page.filter { expiry.isAlive(bornAt: $0.media.bornAt, now: now) }.map { rowID, media in
            DirectoryEntry(
                name: media.mediaID, attributes: attributes(of: media), offset: rowID + 2,
                cacheTimeout: expiry.boundedTimeout(bornAt: media.bornAt))
        }
    }

    func open(_ node: Node, flags: Int32, caller: Caller) async throws -> OpenedFile {
        guard case .byID(let number) = node else { throw FUSEError.isDirectory }
        guard flags & O_ACCMODE == O_RDONLY else { throw FUSEError.accessDenied }
        guard let mediaID = inodes.mediaID(for: number), let media = try await context.expiry.knownMedia(mediaID) else {
            throw FUSEError.notFound
        }
        // A media id's bytes never change, so the kernel may keep the pages it read across opens.
        if context.cache.hasContent(for: mediaID), let local = try? await context.openCached(mediaID) {
            return OpenedFile(handle: context.openFiles.register(local), keepCache: true)
        }
        // A size the server did not tell (videos) is learnt by reading to the end.
        let file = OpenFile.remote(
            RemoteContent(mediaID: mediaID, size: media.size, source: .temporary(isVideo: media.type == .video)))
        return OpenedFile(
            handle: context.openFiles.register(file), directIO: media.size == nil, keepCache: media.size != nil)
    }

    func unlink(_ name: String, in folder: Node) async throws {
        throw folder == .byIDFolder ? FUSEError.accessDenied : FUSEError.notDirectory
    }

    func rmdir(_ name: String, in folder: Node) async throws {
        throw folder == .byIDFolder ? FUSEError.accessDenied : FUSEError.notDirectory
    }

    func rename(_ name: String, in folder: Node, to newName: String, in target: RenameTarget, flags: RenameFlags)
        async throws
    {
        throw folder == .byIDFolder ? FUSEError.accessDenied : FUSEError.notDirectory
    }

    func setattr(_ node: Node, changes: AttributeChanges, caller: Caller) async throws
        -> (FileAttributes, timeout: Double)
    {
        // The folder keeps its attributes (rsync -a and cp -a set them and must not fail); a
        // media id's file is read-only.
        guard node == .byIDFolder else { throw FUSEError.accessDenied }
        guard changes.size == nil else { throw FUSEError.isDirectory }
        return try await attributes(of: node)
    }

    func wechatAttributes(of node: Node) async throws -> [String: String] {
        guard case .byID(let number) = node, let mediaID = inodes.mediaID(for: number),
            let media = try await context.expiry.knownMedia(mediaID)
        else { return [:] }
        return WeChatAttributes.media(
            mediaID, type: media.type, createdAt: media.bornAt,
            expiresAt: context.expiry.expiry(bornAt: media.bornAt))
    }

    /// `/by-id/` files are the only inodes with a row of their own: the rest are numbered from
    /// catalog ids. The kernel's references keep the row.
    func referenced(_ node: Node) {
        if case .byID(let number) = node { inodes.referenced(number) }
    }

    func forget(_ node: Node, lookups: UInt64) async {
        if case .byID(let number) = node { inodes.forget(number, lookups: lookups) }
    }

    func attributes(of media: KnownMedia) -> FileAttributes {
        let number = inodes.number(for: media.mediaID)
        let born = timespec(seconds: media.bornAt)
        return FileAttributes(
            inode: Node.byID(number).inode, kind: .file, permissions: 0o444, uid: context.settings.uid,
            gid: context.settings.gid, size: UInt64(max(0, media.size ?? 0)), accessTime: born,
            modificationTime: born, changeTime: born)
    }

    static func mediaType(forContentType contentType: String) -> MediaType? {
        let lowered = contentType.lowercased()
        if lowered.hasPrefix("image/") { return .image }
        if lowered.hasPrefix("audio/") || lowered.hasPrefix("voice/") { return .voice }
        if lowered.hasPrefix("video/") { return .video }
        return nil
    }
}
