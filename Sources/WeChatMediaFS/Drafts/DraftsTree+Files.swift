import Articles
import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// Making, writing, removing and moving article folders and their files.
extension DraftsTree {
    func mkdir(_ name: String, in parent: Node, permissions: UInt32, caller: Caller) async throws -> Entry {
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
        switch parent {
        case .draftsRoot:
            do {
                let folder = try await catalog.insertDraftFolder(
                    DraftFolder(
                        name: name, mode: permissions, uid: caller.uid, gid: caller.gid, time: context.clock.now()))
                return context.entry(attributes(of: folder))
            } catch CatalogError.nameTaken {
                throw FUSEError.exists
            }
        case .publishedRoot:
            // Only a draft becomes a published folder: by `mv`.
            throw FUSEError(EPERM)
        case .draftFolder:
            // Article folders are flat (pictures beside their articles).
            throw FUSEError(EPERM)
        default:
            throw FUSEError.notDirectory
        }
    }

    func create(_ name: String, in parent: Node, permissions: UInt32, flags: Int32, caller: Caller) async throws
        -> (Entry, OpenedFile)
    {
        guard case .draftFolder(let folderID) = parent else {
            throw Self.location(of: parent) != nil ? FUSEError(EPERM) : FUSEError.notDirectory
        }
        guard name.utf8.count <= 255 else { throw FUSEError.nameTooLong }
        let folder = try await writableFolder(folderID)
        let spool = try context.newSpoolFile()
        let created: DraftFile
        do {
            created = try await catalog.insertDraftFile(
                DraftFile(
                    folderID: folderID, name: name, mode: permissions, uid: caller.uid, gid: caller.gid,
                    time: context.clock.now()))
        } catch CatalogError.nameTaken {
            spool.discard()
            guard flags & O_EXCL == 0 else { throw FUSEError.exists }
            guard let existing = try await catalog.draftFile(in: folderID, named: name), let id = existing.id else {
                throw FUSEError(EBUSY)
            }
            let opened = try await open(.draftFile(id), flags: flags, caller: caller)
            let (attributes, timeout) = currentAttributes(of: existing)
            return (context.entry(attributes, timeout: timeout), opened)
        } catch CatalogError.folderGone {
            spool.discard()
            throw FUSEError.notFound
        } catch {
            spool.discard()
            throw error
        }
        builds.touched(folder)
        let handle = writeHandle(for: created, spool: spool, dirty: false, isNew: true, caller: caller)
        return (
            context.createdEntry(currentAttributes(of: created).0, flags: flags),
            OpenedFile(handle: context.openFiles.register(.write(handle)))
        )
    }

    func open(_ node: Node, flags: Int32, caller: Caller) async throws -> OpenedFile {
        guard case .draftFile(let id) = node else { throw FUSEError.isDirectory }
        guard let file = try await catalog.draftFile(id: id) else { throw FUSEError.notFound }
        let existing = try await bytes.path(of: file).map { Glibc.open($0, O_RDONLY | O_CLOEXEC) } ?? -1
        guard flags & O_ACCMODE != O_RDONLY else {
            // A file never written has no bytes file yet: it is empty.
            guard existing >= 0 else { return OpenedFile(handle: context.openFiles.register(.bytes([]))) }
            return OpenedFile(handle: context.openFiles.register(.local(LocalFileHandle(descriptor: existing))))
        }
        defer { if existing >= 0 { close(existing) } }
        _ = try await writableFolder(file.folderID)
        let truncate = flags & O_TRUNC != 0
        let spool = try context.newSpoolFile(copyingFrom: truncate || existing < 0 ? nil : existing)
        let handle = writeHandle(for: file, spool: spool, dirty: truncate, isNew: false, caller: caller)
        return OpenedFile(handle: context.openFiles.register(.write(handle)))
    }

    private func writeHandle(for file: DraftFile, spool: SpoolFile, dirty: Bool, isNew: Bool, caller: Caller)
        -> WriteHandle
    {
        let id = file.id ?? 0
        // The type only names the limit in the log: an article folder's files are checked by
        // the folder's rules when it is built.
        return WriteHandle(
            entryID: id, inode: Node.draftFile(id).inode, type: .image, sizeLimit: Self.fileSizeLimit,
            delivery: delivery, openerThread: caller.pid, cache: context.cache, spool: spool, dirty: dirty,
            isNew: isNew)
    }

    /// A folder of `/drafts/` (one under `/published/` is the record of what was published).
    func writableFolder(_ id: Int64) async throws -> DraftFolder {
        guard let folder = try await catalog.draftFolder(id: id) else { throw FUSEError.notFound }
        guard folder.location == .drafts else { throw FUSEError(EPERM) }
        return folder
    }

    // MARK: Removing

    /// Removing a file is local: the draft changes at the next build (the next file saved), so
    /// an `rm -r` of a folder never builds a smaller draft on its way.
    func unlink(_ name: String, in parent: Node) async throws {
        guard case .draftFolder(let folderID) = parent else {
            throw Self.location(of: parent) != nil ? FUSEError.isDirectory : FUSEError.notDirectory
        }
        guard let file = try await catalog.draftFile(in: folderID, named: name), let id = file.id else {
            throw FUSEError.notFound
        }
        guard let folder = try await catalog.draftFolder(id: folderID) else { throw FUSEError.notFound }
        guard folder.location == .drafts else {
            context.logger.error(
                "rm of \(Self.displayPath(of: folder, file: name)) refused (EPERM): a published folder is removed whole, by rmdir of the folder (with --allow-delete, which deletes its articles from the account)"
            )
            throw FUSEError(EPERM)
        }
        try await catalog.deleteDraftFile(id: id)
        bytes.remove(id: id)
    }

    /// An empty folder goes; one whose draft is on the server deletes that draft only with
    /// `--allow-delete` (EPERM otherwise). A published folder goes whole, files and all (they
    /// cannot be removed one by one), deleting its articles from the account (all of them,
    /// `freepublish/delete` index 0) only with `--allow-delete`; one still publishing is EBUSY.
    func rmdir(_ name: String, in parent: Node) async throws {
        guard let location = Self.location(of: parent) else {
            // Article folders are flat: a name in one is a file, or nothing.
            guard case .draftFolder(let folderID) = parent,
                try await catalog.draftFile(in: folderID, named: name) == nil
            else { throw FUSEError.notDirectory }
            throw FUSEError.notFound
        }
        guard let folder = try await catalog.draftFolder(in: location, named: name), let id = folder.id else {
            throw FUSEError.notFound
        }
        guard try await catalog.draftFiles(in: id).isEmpty || location == .published else {
            throw FUSEError(ENOTEMPTY)
        }
        let path = Self.displayPath(of: folder)
        guard folder.state != .publishing else {
            context.logger.error("rmdir of \(path) refused (EBUSY): it is still being published")
            throw FUSEError(EBUSY)
        }
        let serverCopy = location == .published ? folder.articleID : folder.draftID
        if let serverCopy {
            guard context.settings.allowDelete else {
                context.logger.error(
                    "rmdir of \(path) refused (EPERM): deleting a \(location == .drafts ? "draft" : "published article") of the account needs a mount with --allow-delete"
                )
                throw FUSEError(EPERM)
            }
            do {
                if location == .drafts {
                    try await service.deleteDraft(mediaID: serverCopy)
                } else {
                    try await service.deletePublished(articleID: serverCopy, index: 0)
                }
                context.logger.notice("deleted \(path) (\(serverCopy)) from the account")
            } catch let error as APIError where error.kind == .notFound {
                // Gone already: the folder goes too.
            } catch {
                throw context.reporter.report("delete", of: path, error)
            }
        }
        await builds.forget(id)
        for file in try await catalog.deleteDraftFolder(id: id) {
            if let fileID = file.id { bytes.remove(id: fileID) }
        }
    }

    // MARK: Renaming and publishing

    func rename(_ name: String, in parent: Node, to newName: String, in target: RenameTarget, flags: RenameFlags)
        async throws
    {
        guard newName.utf8.count <= 255 else { throw FUSEError.nameTooLong }
        switch (parent, target) {
        case (_, .refused(let error)):
            throw error
        case (.draftFolder(let folderID), .folder(.draftFolder(let targetID))):
            guard targetID == folderID else { throw FUSEError.crossDevice }
            try await renameFile(name, in: folderID, to: newName, flags: flags)
        case (.draftsRoot, .folder(.draftsRoot)):
            try await renameFolder(name, to: newName, flags: flags)
        case (.draftsRoot, .folder(.publishedRoot)):
            try await publish(name, as: newName)
        case (.publishedRoot, _), (.draftsRoot, _):
            throw FUSEError(EPERM)
        default:
            throw FUSEError.crossDevice
        }
    }

    /// Editors save by writing a temporary name and renaming it over the article: the rename is
    /// the change, and is built as a close is.
    private func renameFile(_ name: String, in folderID: Int64, to newName: String, flags: RenameFlags) async throws {
        let folder = try await writableFolder(folderID)
        guard let file = try await catalog.draftFile(in: folderID, named: name), let id = file.id else {
            throw FUSEError.notFound
        }
        guard newName != name else { return }
        let existing = try await catalog.draftFile(in: folderID, named: newName)
        if existing != nil, flags.contains(.noReplace) { throw FUSEError.exists }
        do {
            try await catalog.renameDraftFile(id: id, to: newName, replacing: existing?.id)
        } catch CatalogError.notThere {
            throw FUSEError.notFound
        }
        if let replaced = existing?.id { bytes.remove(id: replaced) }
        if let problem = await builds.changed(folder, closing: newName) { throw problem }
    }

    private func renameFolder(_ name: String, to newName: String, flags: RenameFlags) async throws {
        guard let folder = try await catalog.draftFolder(in: .drafts, named: name), let id = folder.id else {
            throw FUSEError.notFound
        }
        guard newName != name else { return }
        if try await catalog.draftFolder(in: .drafts, named: newName) != nil {
            // Replacing a folder would lose its draft's record: refused, as for a non-empty one.
            throw flags.contains(.noReplace) ? FUSEError.exists : FUSEError(ENOTEMPTY)
        }
        do {
            try await catalog.moveDraftFolder(id: id, to: .drafts, named: newName)
        } catch CatalogError.nameTaken {
            throw FUSEError.exists
        }
    }

    /// `mv drafts/NAME published/`: only with `--allow-publish`; the folder is built first if a
    /// build is due, must be built, and is submitted; the rename returns once the submit is
    /// answered, and `PublishWatcher` follows the job.
    private func publish(_ name: String, as newName: String) async throws {
        guard var folder = try await catalog.draftFolder(in: .drafts, named: name), let id = folder.id else {
            throw FUSEError.notFound
        }
        let path = Self.displayPath(of: folder)
        guard context.settings.allowPublish else {
            context.logger.error(
                "mv of \(path) to published/ refused (EPERM): publishing needs a mount with --allow-publish")
            throw FUSEError(EPERM)
        }
        guard try await catalog.draftFolder(in: .published, named: newName) == nil else { throw FUSEError.exists }
        await builds.hurry(id)
        folder = try await catalog.draftFolder(id: id) ?? folder
        guard folder.state == .built, let draftID = folder.draftID else {
            let why = folder.error ?? folder.waitingFor.map { "waiting for \($0)" } ?? folder.state.rawValue
            throw context.reporter.report(
                "publish", of: path, FUSEError.invalid, errno: EINVAL, reason: "not built into a draft: \(why)")
        }
        let submission: PublishSubmission
        do {
            submission = try await service.submit(draftID: draftID)
        } catch {
            throw context.reporter.report("publish", of: path, error)
        }
        try await catalog.moveDraftFolder(id: id, to: .published, named: newName)
        folder.state = .publishing
        folder.publishID = submission.publishID
        folder.publishStatus = PublishState.publishing.rawValue
        folder.error = nil
        folder.errorCode = nil
        folder.polls = 0
        folder.nextPollAt = context.clock.seconds + PublishWatcher.firstPollDelay
        folder.changeTime = context.clock.now()
        try await catalog.updateDraftFolder(folder)
        publishing.noteSubmitted()
        context.logger.notice("submitted \(path) for publishing (publish_id \(submission.publishID))")
    }

    // MARK: Attributes and fsync

    func setattr(_ node: Node, changes: AttributeChanges, caller: Caller) async throws
        -> (FileAttributes, timeout: Double)
    {
        switch node {
        case .draftsRoot, .publishedRoot, .draftFolder:
            // rsync -a and cp -a set the folders' attributes and must not fail.
            guard changes.size == nil else { throw FUSEError.isDirectory }
            return try await attributes(of: node)
        case .draftFile(let id):
            guard var file = try await catalog.draftFile(id: id) else { throw FUSEError.notFound }
            if let size = changes.size {
                let writers =
                    changes.handle.flatMap { handle -> [WriteHandle]? in
                        if case .write(let writer) = context.openFiles.file(handle) { [writer] } else { nil }
                    } ?? context.openFiles.writeHandles(of: node.inode)
                // A closed file changes through open, write, close (or `truncate -s`, which opens).
                guard !writers.isEmpty || Int64(size) == file.size else { throw FUSEError(EPERM) }
                for writer in writers { try await writer.truncate(to: Int64(size)) }
            }
            file.apply(changes, now: context.clock.now())
            try await catalog.updateDraftFile(file)
            return currentAttributes(of: file)
        default:
            throw FUSEError.accessDenied
        }
    }

    /// `fsync` of an article folder or of one of its files (`sync -f`, an editor's save) builds
    /// now what waits for the settle time, and fails with the build's errno.
    func fsync(_ node: Node) async throws {
        let folderID: Int64
        switch node {
        case .draftFolder(let id): folderID = id
        case .draftFile(let id):
            guard let file = try await catalog.draftFile(id: id) else { return }
            folderID = file.folderID
        default: return
        }
        await builds.hurry(folderID)
        guard let folder = try await catalog.draftFolder(id: folderID), folder.state == .failed else { return }
        throw FUSEError(folder.errorCode ?? EIO)
    }
}

extension DraftFile: FileMetadata {}
