import Articles
import FUSEKit
import Foundation
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// What an article folder becomes: its plan from its closed files, and the build itself:
/// pictures uploaded once each (`ArticlePictures`), their `src` rewritten, covers from the
/// permanent library, then `draft/add`, or `draft/update` of only the articles that changed.
struct DraftBuilder: Sendable {
    let context: MountContext
    let catalog: any DraftCatalog
    let service: any DraftService
    let bytes: DraftFileBytes
    let pictures: ArticlePictures

    /// The folder's plan from its closed files: a file never closed with bytes (one being
    /// copied) is not there yet, so what refers to it waits.
    func plan(_ folderID: Int64) async throws -> (plan: FolderPlan, files: [String: DraftFile]) {
        var files: [String: DraftFile] = [:]
        var paths: [String: String] = [:]
        for file in try await catalog.draftFiles(in: folderID) where file.contentHash != nil {
            files[file.name] = file
            paths[file.name] = try await bytes.path(of: file)
        }
        let plan = try FolderPlan.make(listing: Array(files.keys)) { (name: String) throws -> [UInt8] in
            guard let path = paths[name], let data = FileManager.default.contents(atPath: path) else {
                throw FUSEError.io
            }
            return Array(data)
        }
        return (plan, files)
    }

    /// Plans the folder and records what it waits for or why it cannot be built (a build waits
    /// for the settle time: `building`). Nil when the folder or its files cannot be read.
    func planAndRecord(_ folderID: Int64) async -> FolderPlan? {
        guard var folder = try? await catalog.draftFolder(id: folderID), folder.location == .drafts else { return nil }
        let plan: FolderPlan
        do {
            plan = try await self.plan(folderID).plan
        } catch {
            context.logger.error("cannot plan \(DraftsTree.displayPath(of: folder)): \(error)")
            return nil
        }
        let before = folder
        switch plan {
        case .waiting(let names):
            folder.state = .waiting
            folder.waitingFor = names.isEmpty ? "an article (*.md or *.html)" : names.joined(separator: "\n")
            (folder.error, folder.errorCode) = (nil, nil)
        case .invalid(let error):
            folder.state = .failed
            folder.waitingFor = nil
            if folder.error != error.description {
                context.reporter.report(
                    "build", of: DraftsTree.displayPath(of: folder), error, errno: EINVAL, reason: error.description)
            }
            (folder.error, folder.errorCode) = (error.description, EINVAL)
        case .ready(let draft):
            folder.state = .building
            (folder.waitingFor, folder.error, folder.errorCode) = (nil, nil, nil)
            for name in draft.unusedAssets {
                context.logger.info(
                    "\(DraftsTree.displayPath(of: folder, file: name)): no article uses it, not uploaded")
            }
        }
        if folder != before { try? await catalog.updateDraftFolder(folder) }
        return plan
    }

    /// The errno of a folder whose build failed for a reason that may pass: it is due again
    /// by itself, in this mount and the next.
    static let failedForNow = EAGAIN

    /// How a build ended.
    enum Outcome: Equatable {
        /// Built, or found not whole, or failed for good (until a file changes).
        case done
        /// Failed for a reason that may pass: worth another try later.
        case failedForNow
        /// Another mount of the fleet builds it now (or the catalog could not say).
        case elsewhere
    }

    /// Builds the folder unless another mount of the fleet builds it now.
    func build(_ folderID: Int64) async -> Outcome {
        do {
            guard try await catalog.claimDraftBuild(id: folderID) else { return .elsewhere }
        } catch {
            context.logger.error("cannot take the build of article folder \(folderID): \(error)")
            return .elsewhere
        }
        let outcome = await buildClaimed(folderID)
        do {
            try await catalog.endDraftBuild(id: folderID)
        } catch {
            // The claim ends with this session at the latest.
            context.logger.warning("cannot end the build of article folder \(folderID): \(error)")
        }
        return outcome
    }

    /// Builds the folder if it is whole; its state and error tell how it ended.
    private func buildClaimed(_ folderID: Int64) async -> Outcome {
        guard var folder = try? await catalog.draftFolder(id: folderID), folder.location == .drafts else {
            return .done
        }
        var outcome = Outcome.done
        let path = DraftsTree.displayPath(of: folder)
        let stateAtStart = folder.state
        do {
            let (plan, files) = try await self.plan(folderID)
            guard case .ready(let draft) = plan else {
                _ = await planAndRecord(folderID)
                return .done
            }
            let began = ContinuousClock.now
            let articles = try await articles(of: draft, files: files, in: folder)
            let hashes = articles.map(Self.hash)
            let built = folder.builtArticles.map { $0.split(separator: "\n").map(String.init) } ?? []
            var sent = 0
            var updated = false
            if let draftID = folder.draftID, built.count == hashes.count {
                do {
                    for index in hashes.indices where hashes[index] != built[index] {
                        try await service.updateDraft(mediaID: draftID, index: index, with: articles[index])
                        sent += 1
                    }
                    updated = true
                } catch let error as APIError where error.kind == .notFound {
                    // 40007 is also a cover the server does not have: only a draft that is gone
                    // (deleted or published elsewhere) makes the folder a new draft.
                    if (try? await service.getDraft(mediaID: draftID)) != nil { throw error }
                    context.logger.notice("\(path): draft \(draftID) is gone from the draft box; making a new one")
                    folder.draftID = nil
                }
            }
            if updated, let draftID = folder.draftID {
                context.logger.info(
                    "built \(path): draft \(draftID), \(sent) of \(articles.count) article(s) updated, \(began.duration(to: .now).wholeMilliseconds) ms"
                )
            } else {
                let draftID = try await service.addDraft(articles)
                guard OpaqueID.isWellFormed(draftID, maxLength: 128) else {
                    throw TransportError.invalidResponse("draft/add answered no usable media_id")
                }
                if let old = folder.draftID {
                    context.logger.notice(
                        "\(path) now has \(articles.count) article(s) instead of \(built.count): a draft changes its number of articles only as a new draft, \(draftID); the old one, \(old), stays in the draft box"
                    )
                }
                folder.draftID = draftID
                context.logger.info(
                    "built \(path): new draft \(draftID), \(articles.count) article(s), \(began.duration(to: .now).wholeMilliseconds) ms"
                )
            }
            folder.builtArticles = hashes.joined(separator: "\n")
            folder.state = .built
            DraftMetrics.built(failed: false)
            (folder.error, folder.errorCode, folder.waitingFor) = (nil, nil, nil)
        } catch {
            let mayPass = RetryPolicy.mayPassLater((error as? BuildRefusal)?.cause ?? error)
            let (failure, code) =
                if let error = error as? ArticleError {
                    context.reporter.reportFailure("build", of: path, error, errno: EINVAL, reason: error.description)
                } else if let refusal = error as? BuildRefusal {
                    context.reporter.reportFailure(
                        "build", of: path, refusal, errno: mayPass ? Self.failedForNow : refusal.code,
                        reason: refusal.reason)
                } else {
                    context.reporter.reportFailure("build", of: path, error, errno: mayPass ? Self.failedForNow : nil)
                }
            // The errno alone says whether the build is tried again, here and by the next mount
            // (which knows no more): a picture's upload refused for now is too.
            if code == Self.failedForNow { outcome = .failedForNow }
            DraftMetrics.built(failed: true)
            folder.state = .failed
            folder.error = WeChatAttributes.describe(failure)
            folder.errorCode = code
        }
        // The folder may have been renamed meanwhile: only the build's columns are written, and
        // a state a close planned meanwhile (waiting, an invalid article) stays: it is newer.
        if let current = try? await catalog.draftFolder(id: folderID) {
            var updated = current
            (updated.draftID, updated.builtArticles) = (folder.draftID, folder.builtArticles)
            if current.state == stateAtStart {
                updated.state = folder.state
                (updated.error, updated.errorCode) = (folder.error, folder.errorCode)
            }
            try? await catalog.updateDraftFolder(updated)
        }
        return outcome
    }

    /// The hash of each article the folder would send now, one per line, when that needs no
    /// upload (a folder made from a server draft: its pictures are the server's URLs); else nil.
    func articleHashes(_ folderID: Int64) async -> String? {
        guard let folder = try? await catalog.draftFolder(id: folderID),
            let (plan, files) = try? await self.plan(folderID), case .ready(let draft) = plan, draft.pictures.isEmpty,
            let articles = try? await articles(of: draft, files: files, in: folder)
        else { return nil }
        return articles.map(Self.hash).joined(separator: "\n")
    }

    /// The draft's articles: pictures uploaded (or found uploaded) and their URLs in place,
    /// covers as permanent ids.
    private func articles(of draft: DraftPlan, files: [String: DraftFile], in folder: DraftFolder) async throws
        -> [DraftArticle]
    {
        var urls: [String: String] = [:]
        var covers: [String: String] = [:]
        for (path, use) in draft.pictures {
            guard let file = files[path], let hash = file.contentHash else {
                throw BuildRefusal(code: ENOENT, reason: "\(path) went while the draft was built")
            }
            guard let location = try await bytes.path(of: file) else { throw FUSEError.io }
            let upload = try PictureUpload.choose(
                name: path, prefix: Self.prefix(of: location), size: Int(file.size), use: use)
            let uploaded = try await pictures.upload(
                location, named: String(path.split(separator: "/").last ?? ""), hash: hash, size: file.size,
                as: upload)
            urls[path] = uploaded.url
            if let mediaID = uploaded.mediaID { covers[path] = mediaID }
        }
        var articles: [DraftArticle] = []
        for article in draft.articles {
            let thumb: String
            switch article.cover {
            case .folderFile(let path):
                guard let id = covers[path] else {
                    throw BuildRefusal(code: ENOENT, reason: "\(article.name): cover \(path) got no media id")
                }
                thumb = id
            case .materialImage(let path):
                thumb = try await pictures.libraryImageID(
                    path, for: DraftsTree.displayPath(of: folder, file: article.name))
            case .mediaID(let id):
                thumb = id
            }
            let fields = article.fields
            articles.append(
                DraftArticle(
                    title: fields.title, content: try article.content(pictureURLs: urls), thumbMediaID: thumb,
                    author: fields.author ?? "", digest: fields.digest ?? "", contentSourceURL: fields.sourceURL ?? "",
                    needOpenComment: fields.comments.needOpenComment == 1,
                    onlyFansCanComment: fields.comments.onlyFansCanComment == 1))
        }
        return articles
    }

    /// What identifies an article as sent: a change of any field is an update.
    static func hash(_ article: DraftArticle) -> String {
        let fields = [
            article.title, article.author, article.digest, article.content, article.contentSourceURL,
            article.thumbMediaID, article.needOpenComment ? "1" : "0", article.onlyFansCanComment ? "1" : "0",
        ]
        return MaterialUploads.sha256(of: fields.joined(separator: "\u{0}").utf8)
    }

    static func prefix(of path: String) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        return Array((try? handle.read(upToCount: PictureFormat.prefixLength)) ?? Data())
    }
}
