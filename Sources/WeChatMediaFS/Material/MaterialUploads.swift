import Crypto
import FUSEKit
import LocalByteStore
import Logging
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Takes a closed `/material/` file to the library: hash → the same bytes already there? →
/// cap → `add_material` (or `media/uploadimg` for an article image) → adopt → commit. Always
/// before `close()` returns, whatever `--uploads` says: a permanent material is added once and
/// never queued behind temporary media. Nothing is committed that the server did not accept.
struct MaterialUploads: SpoolDelivery {
    let catalog: any MaterialCatalog
    let service: any MaterialService
    let caps: MaterialCaps
    let context: MountContext

    func deliver(spool: SpoolFile, entryID: Int64, type: MediaType, isNew: Bool) async throws -> Bool {
        guard var entry = try await catalog.materialEntry(id: entryID) else { return false }
        let path = MaterialTree.displayPath(of: entry)
        var info = stat()
        guard fstat(spool.descriptor, &info) == 0 else { throw FUSEError.io }
        let size = Int64(info.st_size)
        guard size > 0 else {
            entry.state = .placeholder
            entry.mediaID = nil
            entry.url = nil
            entry.contentHash = nil
            entry.size = 0
            try await catalog.updateMaterial(entry)
            return false
        }
        let hash = try Self.sha256(of: spool.descriptor)
        if entry.state == .uploaded, entry.contentHash == hash { return false }
        if let same = try await catalog.materialEntry(in: entry.folder, contentHash: hash), same.id != entry.id {
            context.logger.info(
                "\(path): the same bytes as material/\(entry.folder.rawValue)/\(same.name), \(same.mediaID ?? same.url ?? ""): not sent again"
            )
            return try await commit(
                &entry, mediaID: same.mediaID, url: same.url, hash: hash, size: size, updateTime: same.updateTime,
                spool: spool)
        }
        if entry.folder != .articleImages, caps.isFull(entry.folder) {
            let failure = context.reporter.report(
                "upload", of: path, FUSEError(EDQUOT), errno: EDQUOT,
                reason: caps.fullReason(entry.folder))
            await abandon(entry, isNew: isNew)
            throw failure
        }
        let began = ContinuousClock.now
        let activity = context.activity
        let transfer = activity.begin(.upload, name: path, total: size)
        defer { activity.end(transfer) }
        let mediaID: String?
        let url: String?
        do {
            if entry.folder == .articleImages {
                (mediaID, url) = (nil, try await service.uploadArticleImage(fileAt: spool.path, name: entry.name))
            } else {
                let added = try await service.addMaterial(
                    fileAt: spool.path, as: entry.folder.mediaType, name: entry.name,
                    title: entry.folder == .video ? Self.stem(of: entry.name) : nil, introduction: nil
                ) { sent in activity.progress(transfer, bytesDone: sent) }
                (mediaID, url) = (added.mediaID, added.url)
            }
        } catch {
            if (error as? APIError)?.kind == .libraryFull { caps.markFull(entry.folder) }
            let failure = context.reporter.report(
                "upload", of: path, error, errno: ErrnoMapping.errnoOfUpload(for: error))
            await abandon(entry, isNew: isNew)
            throw failure
        }
        // Whatever service answered, an id that is no id or a URL that is no URL is never stored.
        guard mediaID.map({ OpaqueID.isWellFormed($0, maxLength: 128) }) ?? true,
            url.map(MaterialReply.isHTTPURL) ?? (entry.folder != .articleImages)
        else {
            let failure = context.reporter.report(
                "upload", of: path, TransportError.invalidResponse("an answer without a usable media_id or url"),
                errno: EIO)
            await abandon(entry, isNew: isNew)
            throw failure
        }
        caps.added(to: entry.folder)
        let adopted = try await commit(
            &entry, mediaID: mediaID, url: url, hash: hash, size: size, updateTime: context.clock.seconds, spool: spool)
        context.logger.info(
            "uploaded \(path): \(size) bytes, \(mediaID.map { "media_id \($0)" } ?? "url \(url ?? "")"), \(began.duration(to: .now).wholeMilliseconds) ms"
        )
        return adopted
    }

    /// Records what the library holds now, and keeps the bytes as its cached content.
    private func commit(
        _ entry: inout MaterialEntry, mediaID: String?, url: String?, hash: String, size: Int64, updateTime: Int64?,
        spool: SpoolFile
    ) async throws -> Bool {
        entry.state = .uploaded
        entry.mediaID = mediaID
        entry.url = url
        entry.contentHash = hash
        entry.size = size
        entry.updateTime = updateTime
        entry.changeTime = context.clock.now()
        var adopted = false
        if let key = MaterialTree.contentKey(of: entry), !context.cache.hasContent(for: key) {
            adopted = (try? context.cache.adopt(spoolPath: spool.path, as: key)) != nil
            if adopted { await context.budget.added(key, size: size) }
        }
        try await catalog.updateMaterial(entry)
        return adopted
    }

    func abandon(entryID: Int64, isNew: Bool) async {
        guard let entry = try? await catalog.materialEntry(id: entryID) else { return }
        await abandon(entry, isNew: isNew)
    }

    /// A new name whose first upload failed goes, and the kernel looks it up again.
    private func abandon(_ entry: MaterialEntry, isNew: Bool) async {
        guard isNew, entry.state == .writing, let id = entry.id else { return }
        try? await catalog.deleteMaterial(id: id)
        await context.kernelCache.invalidateEntry(parent: Node.materialFolder(entry.folder).inode, name: entry.name)
    }

    func settleUnwritten(entryID: Int64) async throws {
        guard var entry = try await catalog.materialEntry(id: entryID), entry.state == .writing else { return }
        entry.state = .placeholder
        try await catalog.updateMaterial(entry)
    }

    func displayPath(of entryID: Int64) async -> String? {
        guard let entry = try? await catalog.materialEntry(id: entryID) else { return nil }
        return MaterialTree.displayPath(of: entry)
    }

    /// The file name without its extension: a video's title.
    static func stem(of name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// SHA-256 of the file, read in 1 MiB blocks.
    static func sha256(of descriptor: Int32) throws -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, offset) }
            guard count >= 0 else { throw FUSEError(errno) }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            offset += off_t(count)
        }
        let digits = Array("0123456789abcdef")
        return String(hasher.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }
}
