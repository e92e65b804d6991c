import Articles
import FUSEKit
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// A draft's pictures go into the permanent library the mount shows: an article image into
/// `/material/article-images/`, a cover (or a picture too big or of a format `uploadimg` does not
/// take) into `/material/image/`; each once per content hash, whichever folder or draft uses it,
/// so rebuilding a draft uploads nothing it has uploaded before. The add is the library's own
/// (`MaterialUploads.add`: its caps, its checks of the answer, its report of a failure).
struct ArticlePictures: Sendable {
    let context: MountContext
    let material: MaterialTree

    struct Uploaded: Sendable {
        var url: String
        /// For permanent material: what a cover is.
        var mediaID: String?
    }

    /// The URL (and for permanent material the media id) of the picture at `path`, named `name`.
    func upload(_ path: String, named name: String, hash: String, size: Int64, as upload: PictureUpload) async throws
        -> Uploaded
    {
        let folder: MaterialFolder = upload == .articleImage ? .articleImages : .image
        if let known = try await material.catalog.materialEntry(in: folder, contentHash: hash), let url = known.url {
            return Uploaded(url: url, mediaID: known.mediaID)
        }
        let now = context.clock.now()
        var entry = MaterialEntry(
            folder: folder, name: try await freeName(for: name, hash: hash, in: folder), state: .uploaded,
            contentHash: hash, size: size, mode: 0o644, uid: context.settings.uid, gid: context.settings.gid,
            accessTime: now, modificationTime: now, changeTime: now)
        let (mediaID, url): (String?, String?)
        switch await material.uploads.add(path, as: entry, size: size) {
        case .failure(let failed):
            throw BuildRefusal(code: failed.code, reason: "\(name): \(failed.failure.errmsg)", cause: failed.cause)
        case .success(let added):
            (mediaID, url) = added
        }
        guard let url else {
            throw BuildRefusal(code: EIO, reason: "\(name): add_material answered an image without its url")
        }
        (entry.mediaID, entry.url) = (mediaID, url)
        do {
            _ = try await material.catalog.insertMaterial(entry)
        } catch {
            // Uploaded all the same: the draft uses it; only the library's listing lacks the name.
            context.logger.warning("\(MaterialTree.displayPath(of: entry)) uploaded but not recorded: \(error)")
        }
        context.logger.info("uploaded \(MaterialTree.displayPath(of: entry)) for a draft: \(mediaID ?? url)")
        return Uploaded(url: url, mediaID: mediaID)
    }

    /// The picture's name in the library's folder, or, when that is taken, the name with `~`
    /// and the start of its hash, as `MaterialNames` tells materials of one name apart.
    private func freeName(for name: String, hash: String, in folder: MaterialFolder) async throws -> String {
        guard try await material.catalog.materialEntry(in: folder, named: name) != nil else { return name }
        let stem = MaterialUploads.stem(of: name)
        return "\(stem)~\(hash.prefix(8))\(name.dropFirst(stem.count))"
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
