import Articles
import FUSEKit
import MediaCatalog
import WeChatMedia

/// A draft's pictures go into the permanent library the mount shows: an article image into
/// `/material/article-images/`, a cover (or a picture too big or of a format `uploadimg` does not
/// take) into `/material/image/`; each once per content hash, whichever folder or draft uses it,
/// so rebuilding a draft uploads nothing it has uploaded before, and the library's caps count it.
struct ArticlePictures: Sendable {
    let context: MountContext
    let material: MaterialTree

    struct Uploaded: Sendable {
        var url: String
        /// For permanent material: what a cover is.
        var mediaID: String?
    }

    /// The URL (and for permanent material the media id) of the picture at `path`.
    func upload(
        _ path: String, named name: String, hash: String, size: Int64, as upload: PictureUpload, for displayPath: String
    ) async throws -> Uploaded {
        let folder: MaterialFolder = upload == .articleImage ? .articleImages : .image
        if let known = try await material.catalog.materialEntry(in: folder, contentHash: hash), let url = known.url {
            return Uploaded(url: url, mediaID: known.mediaID)
        }
        if folder == .image, material.caps.isFull(.image) {
            throw BuildRefusal(code: EDQUOT, reason: "\(displayPath): " + material.caps.fullReason(.image))
        }
        let transfer = context.activity.begin(.upload, name: displayPath, total: size)
        defer { context.activity.end(transfer) }
        let uploaded: Uploaded
        do {
            if folder == .articleImages {
                uploaded = Uploaded(url: try await material.service.uploadArticleImage(fileAt: path, name: name))
            } else {
                let added = try await material.service.addMaterial(
                    fileAt: path, as: .image, name: name, title: nil, introduction: nil, progress: { _ in })
                guard let url = added.url else {
                    throw TransportError.invalidResponse("add_material answered an image without its url")
                }
                uploaded = Uploaded(url: url, mediaID: added.mediaID)
                material.caps.added(to: .image)
            }
        } catch {
            if (error as? APIError)?.kind == .libraryFull { material.caps.markFull(.image) }
            throw error
        }
        guard MaterialReply.isHTTPURL(uploaded.url),
            uploaded.mediaID.map({ OpaqueID.isWellFormed($0, maxLength: 128) }) ?? true
        else {
            throw TransportError.invalidResponse("an answer without a usable media_id or url")
        }
        await record(uploaded, in: folder, name: name, hash: hash, size: size)
        context.logger.info(
            "uploaded \(displayPath) as \(folder == .image ? "image material \(uploaded.mediaID ?? "")" : "an article image"): \(uploaded.url)"
        )
        return uploaded
    }

    /// The picture joins the library's folder under its name, or, when that is taken, its
    /// name with the start of its hash: the library shows what the drafts uploaded.
    private func record(_ uploaded: Uploaded, in folder: MaterialFolder, name: String, hash: String, size: Int64) async
    {
        let now = context.clock.now()
        let stem = MaterialUploads.stem(of: name)
        let suffix = name.dropFirst(stem.count)
        for candidate in [name, "\(stem)-\(hash.prefix(8))\(suffix)"] {
            let entry = MaterialEntry(
                folder: folder, name: candidate, state: .uploaded, mediaID: uploaded.mediaID, url: uploaded.url,
                contentHash: hash, size: size, mode: 0o644, uid: context.settings.uid, gid: context.settings.gid,
                accessTime: now, modificationTime: now, changeTime: now)
            do {
                _ = try await material.catalog.insertMaterial(entry)
                return
            } catch CatalogError.nameTaken {
                continue
            } catch {
                context.logger.warning("\(folder.rawValue) \(candidate) uploaded but not recorded: \(error)")
                return
            }
        }
    }

    /// The media id of `/material/image/PATH`: ENOENT when the library has no such picture.
    func libraryImageID(_ path: String, for displayPath: String) async throws -> String {
        guard let entry = try await material.find(path, in: .image), entry.state == .uploaded,
            let mediaID = entry.mediaID
        else {
            throw BuildRefusal(
                code: ENOENT, reason: "\(displayPath): cover /material/image/\(path) is not in the library")
        }
        return mediaID
    }
}

/// A build refused by the mount itself, with its errno and the reason told.
struct BuildRefusal: Error, CustomStringConvertible {
    var code: Int32
    var reason: String

    var description: String { reason }
}

#if canImport(Glibc)
import Glibc
#endif
