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
/// cap → `add_material` (or `media/uploadimg` for an article image) → adopt → commit, before
/// `close()` returns (`send`), or later from the material queue in background mode
/// (`uploadQueued`). Nothing is committed that the server did not accept.
struct MaterialUploads: QueuedUploads {
    let catalog: any MaterialCatalog
    let service: any MaterialService
    let caps: MaterialCaps
    let context: MountContext

    /// What a closed file needs: nothing more (emptied, unchanged, or the same bytes as a
    /// material already held, whose id it now shares), or an add of `size` bytes hashing to `hash`.
    enum Preparation {
        case settled(adopted: Bool)
        case add(MaterialEntry, size: Int64, hash: String)
    }

    func prepare(spool: SpoolFile, entryID: Int64) async throws -> Preparation {
        guard var entry = try await catalog.materialEntry(id: entryID) else { return .settled(adopted: false) }
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
            return .settled(adopted: false)
        }
        let hash = try Self.sha256(of: spool.descriptor)
        if entry.state == .uploaded, entry.contentHash == hash { return .settled(adopted: false) }
        if let adopted = try await reuse(&entry, hash: hash, size: size, file: spool.path) {
            return .settled(adopted: adopted)
        }
        return .add(entry, size: size, hash: hash)
    }

    /// Gives `entry` the id of material of its folder holding the same bytes, if this catalog
    /// knows one: whether the file became cached content, nil when there is none.
    private func reuse(_ entry: inout MaterialEntry, hash: String, size: Int64, file: String) async throws -> Bool? {
        guard let same = try await catalog.materialEntry(in: entry.folder, contentHash: hash), same.id != entry.id
        else { return nil }
        context.logger.info(
            "\(MaterialTree.displayPath(of: entry)): the same bytes as material/\(entry.folder.rawValue)/\(same.name), \(same.mediaID ?? same.url ?? ""): not sent again"
        )
        return try await commit(
            &entry, mediaID: same.mediaID, url: same.url, hash: hash, size: size, updateTime: same.updateTime,
            file: file)
    }

    /// What `close()` checks before queueing: the material rules (size, format, voice length),
    /// an article image's JPEG or PNG, and a type known to be full; a refused new name goes away.
    func checkBeforeQueueing(_ entry: MaterialEntry, file: String, isNew: Bool) async throws {
        do {
            let format = try WeChatMediaClient.materialRules.check(fileAt: file, as: entry.folder.mediaType)
            if entry.folder == .articleImages, format != .jpeg, format != .png {
                throw MediaRuleViolation.formatNotAllowed(type: .image, format: format)
            }
        } catch {
            let failure = context.reporter.report(
                "upload", of: MaterialTree.displayPath(of: entry), error, errno: ErrnoMapping.errno(for: error))
            await abandon(entry, isNew: isNew)
            throw failure
        }
        if entry.folder != .articleImages, caps.isFull(entry.folder) {
            let failure = context.reporter.report(
                "upload", of: MaterialTree.displayPath(of: entry), FUSEError(EDQUOT), errno: EDQUOT,
                reason: caps.fullReason(entry.folder))
            await abandon(entry, isNew: isNew)
            throw failure
        }
    }

    /// Adds `spool` to the library as `entry`'s content before `close()` returns; a failure
    /// fails the close, and a new name goes away.
    func send(_ spool: SpoolFile, as entry: MaterialEntry, size: Int64, hash: String, isNew: Bool) async throws -> Bool
    {
        var entry = entry
        let began = ContinuousClock.now
        switch await add(spool.path, as: entry, size: size) {
        case .failure(let failed):
            await abandon(entry, isNew: isNew)
            throw FUSEError(failed.code)
        case .success(let added):
            let adopted = try await commit(
                &entry, mediaID: added.mediaID, url: added.url, hash: hash, size: size,
                updateTime: context.clock.seconds, file: spool.path)
            logAdded(entry, size: size, began: began)
            return adopted
        }
    }

    // MARK: The material queue

    var queueFolder: QueueFolder { .material }

    func markQueued(entryID: Int64, size: Int64) async throws {
        guard var entry = try await catalog.materialEntry(id: entryID) else { throw FUSEError.notFound }
        // An uploaded file keeps its id until its new bytes are added; the queue tells their size.
        guard entry.state != .uploaded else { return }
        entry.state = .queued
        entry.size = size
        try await catalog.updateMaterial(entry)
    }

    func resumable(_ entryIDs: [Int64]) async throws -> [Int64: MediaType] {
        try await catalog.adoptQueuedMaterial(entryIDs)
        var types: [Int64: MediaType] = [:]
        for id in entryIDs {
            guard let entry = try await catalog.materialEntry(id: id), entry.state != .writing else { continue }
            types[id] = entry.folder.mediaType
        }
        return types
    }

    func uploadQueued(
        at path: String, size: Int64, entryID: Int64, type: MediaType, isCurrent: @escaping @Sendable () -> Bool
    ) async -> QueuedOutcome {
        let began = ContinuousClock.now
        do {
            guard var entry = try await catalog.materialEntry(id: entryID) else { return .superseded }
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw FUSEError.io }
            let hash: String
            do {
                defer { close(descriptor) }
                hash = try Self.sha256(of: descriptor)
            }
            // The same bytes may have been added meanwhile, under another name or by another host.
            if try await reuse(&entry, hash: hash, size: size, file: path) != nil { return .uploaded }
            switch await add(path, as: entry, size: size) {
            case .failure(let failed):
                return isCurrent()
                    ? .failed(failed.failure, errno: failed.code, mayPass: RetryPolicy.mayPassLater(failed.cause))
                    : .superseded
            case .success(let added):
                // Read again: a chmod, touch or rename while it was added must stay.
                guard isCurrent(), var now = try await catalog.materialEntry(id: entryID) else { return .superseded }
                _ = try await commit(
                    &now, mediaID: added.mediaID, url: added.url, hash: hash, size: size,
                    updateTime: context.clock.seconds, file: path)
                logAdded(now, size: size, began: began)
                return .uploaded
            }
        } catch {
            guard isCurrent() else { return .superseded }
            // The catalog or the local file failed, before the add or after it: an add the
            // server may have made is not made again.
            let (failure, code) = context.reporter.reportFailure("upload", of: "material \(entryID)", error)
            return .failed(failure, errno: code, mayPass: false)
        }
    }

    // MARK: Adding

    /// A failure already told (log and status), with the errno it answers and what caused it.
    struct Failed: Error {
        var failure: MountStatus.Failure
        var code: Int32
        var cause: any Error
    }

    /// The add itself (`add_material`, or `media/uploadimg`), shown by `wxmediafs status`, its
    /// answer checked; none into a type known to be full (EDQUOT). A failure is reported here.
    func add(_ file: String, as entry: MaterialEntry, size: Int64) async -> Result<
        (mediaID: String?, url: String?), Failed
    > {
        let path = MaterialTree.displayPath(of: entry)
        if entry.folder != .articleImages, caps.isFull(entry.folder) {
            let (failure, code) = context.reporter.reportFailure(
                "upload", of: path, FUSEError(EDQUOT), errno: EDQUOT, reason: caps.fullReason(entry.folder))
            return .failure(Failed(failure: failure, code: code, cause: FUSEError(EDQUOT)))
        }
        let activity = context.activity
        let transfer = activity.begin(.upload, name: path, total: size)
        defer { activity.end(transfer) }
        let mediaID: String?
        let url: String?
        do {
            if entry.folder == .articleImages {
                (mediaID, url) = (nil, try await service.uploadArticleImage(fileAt: file, name: entry.name))
            } else {
                let added = try await service.addMaterial(
                    fileAt: file, as: entry.folder.mediaType, name: entry.name,
                    title: entry.folder == .video ? Self.stem(of: entry.name) : nil, introduction: nil
                ) { sent in activity.progress(transfer, bytesDone: sent) }
                (mediaID, url) = (added.mediaID, added.url)
            }
        } catch {
            if (error as? APIError)?.kind == .libraryFull { caps.markFull(entry.folder) }
            let (failure, code) = context.reporter.reportFailure(
                "upload", of: path, error, errno: ErrnoMapping.errnoOfUpload(for: error))
            return .failure(Failed(failure: failure, code: code, cause: error))
        }
        // Whatever service answered, an id that is no id or a URL that is no URL is never stored.
        guard mediaID.map({ OpaqueID.isWellFormed($0, maxLength: 128) }) ?? true,
            url.map(MaterialReply.isHTTPURL) ?? (entry.folder != .articleImages)
        else {
            let unusable = TransportError.invalidResponse("an answer without a usable media_id or url")
            let (failure, code) = context.reporter.reportFailure("upload", of: path, unusable, errno: EIO)
            return .failure(Failed(failure: failure, code: code, cause: unusable))
        }
        caps.added(to: entry.folder)
        return .success((mediaID, url))
    }

    private func logAdded(_ entry: MaterialEntry, size: Int64, began: ContinuousClock.Instant) {
        context.logger.info(
            "uploaded \(MaterialTree.displayPath(of: entry)): \(size) bytes, \(entry.mediaID.map { "media_id \($0)" } ?? "url \(entry.url ?? "")"), \(began.duration(to: .now).wholeMilliseconds) ms"
        )
    }

    /// Records what the library holds now, and keeps the bytes as its cached content.
    private func commit(
        _ entry: inout MaterialEntry, mediaID: String?, url: String?, hash: String, size: Int64, updateTime: Int64?,
        file: String
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
            adopted = (try? context.cache.adopt(spoolPath: file, as: key)) != nil
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
    func abandon(_ entry: MaterialEntry, isNew: Bool) async {
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
        return hex(hasher.finalize())
    }

    /// SHA-256 of `bytes`, hex.
    static func sha256(of bytes: some Sequence<UInt8>) -> String {
        hex(SHA256.hash(data: Array(bytes)))
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef")
        return String(digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }
}
