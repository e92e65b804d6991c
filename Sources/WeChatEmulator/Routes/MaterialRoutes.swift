import Foundation
import Hummingbird
import NIOCore
import NIOFileSystem
import Synchronization
import WeChatMedia

/// The permanent material library (`material/...`) and article images (`media/uploadimg`), as
/// `wechat-api-notes.md` describes them, accepting every way the widely used SDKs call them.
extension EmulatorAPI {
    /// Permanent material follows the current docs' limits whatever `--limits` says: image 10 MB
    /// JPEG/PNG/GIF, voice 2 MB MP3/AMR of at most 60 s, video 10 MB MP4, thumb 64 KB JPEG.
    static let materialRules = MediaRules(profile: .current)
    /// `media/uploadimg` takes JPEG or PNG up to 1 MB.
    static let articleImageLimit = 1024 * 1024

    /// `POST material/add_material?type=TYPE`, one multipart part `media`. `type` may come as a
    /// form field instead (EasyWeChat), `description` as a query parameter (wechatpy: JSON with
    /// `\u` escapes) or a form field (WeRoBot, EasyWeChat, WxJava, silenceper); a description
    /// sent with another type than video is ignored.
    func addMaterial(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        if let refusal = await refusal(of: request, metering: .addMaterial) { return refusal }
        let rules = Self.materialRules
        let upload: MultipartUpload
        switch try await receiveMultipart(request, context: context, partLimit: rules.profile.largestFile) {
        case .refused(let response): return response
        case .received(let received): upload = received
        }
        guard let type = (request.query("type") ?? upload.fields["type"]).flatMap(MediaType.init(rawValue:)) else {
            return APIResponses.error(.invalidMediaType)
        }
        // A raw UTF-8 name is kept (it is what the console shows); RFC 2231's `filename*=` is refused.
        guard let filename = upload.media.filename, !filename.isEmpty, !upload.media.usesExtendedFilename else {
            return APIResponses.error(.mediaDataMissing)
        }
        guard rules.acceptsFilename(filename, as: type) else { return APIResponses.error(.invalidFileType) }
        if upload.media.overLimit || upload.media.size > Int64(rules.profile.maxSize(for: type)) {
            return APIResponses.error(
                MediaRuleViolation.tooLarge(
                    type: type, size: Int(clamping: upload.media.size), limit: rules.profile.maxSize(for: type)
                ).errorCode)
        }
        let format: MediaFormat
        do {
            format = try rules.check(fileAt: upload.spoolPath, as: type)
        } catch {
            return APIResponses.error(error.errorCode)
        }
        var title: String?
        var introduction: String?
        if type == .video, let description = request.query("description") ?? upload.fields["description"] {
            guard let object = try? JSONSerialization.jsonObject(with: Data(description.utf8)) as? [String: Any] else {
                return APIResponses.error(.dataFormatError, detail: "description is not a JSON object")
            }
            title = object["title"] as? String
            introduction = object["introduction"] as? String
        }
        let added = try await material.add(
            spoolPath: upload.spoolPath, type: type, format: format, size: upload.media.size, name: filename,
            title: title, introduction: introduction)
        guard case .added(let stored) = added else { return APIResponses.error(.materialCountOutOfLimit) }
        upload.keep()
        var reply: [String: any Sendable] = ["media_id": stored.id]
        if type == .image { reply["url"] = materialURL(of: stored, request: request) }
        return APIResponses.json(reply)
    }

    /// `POST material/get_material` `{"media_id"}`: image, voice and thumb bytes as an
    /// attachment; a video's `{"title","description","down_url"}`.
    func getMaterial(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        if let refusal = await refusal(of: request) { return refusal }
        let stored: StoredMaterial
        switch try await namedMaterial(request, context: context) {
        case .refused(let response): return response
        case .found(let found): stored = found
        }
        guard stored.type != .video else {
            return APIResponses.json([
                "title": stored.title ?? "", "description": stored.introduction ?? "",
                "down_url": materialURL(of: stored, request: request),
            ])
        }
        return await materialBytes(stored, attachment: true)
    }

    /// `POST material/del_material` `{"media_id"}`: gone for good; a later call answers 40007.
    func deleteMaterial(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        if let refusal = await refusal(of: request) { return refusal }
        switch try await namedMaterial(request, context: context) {
        case .refused(let response): return response
        case .found(let stored):
            _ = await material.delete(stored.id)
            return APIResponses.json(["errcode": 0, "errmsg": "ok"])
        }
    }

    /// `POST material/batchget_material` with the JSON body `{"type","offset","count"}`: the
    /// parameters are read from the body only (in the query alone they are missing: 40004).
    /// Newest first; `count` from 1 to 20 and a negative `offset` are 47001 here (the docs do not
    /// say what the platform answers). `news` lists nothing: articles are drafts now.
    func batchgetMaterial(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        guard request.method == .post else { return APIResponses.error(.requirePOST) }
        if let refusal = await refusal(of: request) { return refusal }
        let object = try await jsonBody(request, context: context) ?? [:]
        guard let typeName = object["type"] as? String, typeName == "news" || MediaType(rawValue: typeName) != nil,
            typeName != MediaType.thumb.rawValue
        else {
            return APIResponses.error(.invalidMediaType)
        }
        let offset = Self.integer(object["offset"]) ?? 0
        let count = Self.integer(object["count"]) ?? 20
        guard offset >= 0, (1...20).contains(count) else {
            return APIResponses.error(.dataFormatError, detail: "offset must be 0 or more and count 1 to 20")
        }
        guard let type = MediaType(rawValue: typeName) else {
            return APIResponses.json(["total_count": 0, "item_count": 0, "item": [[String: any Sendable]]()])
        }
        let page = await material.page(of: type, offset: offset, count: count)
        let items: [[String: any Sendable]] = page.items.map { stored in
            var item: [String: any Sendable] = [
                "media_id": stored.id, "name": stored.name, "update_time": stored.updateTime,
            ]
            switch stored.type {
            case .image: item["url"] = materialURL(of: stored, request: request)
            case .video:
                item["description"] = stored.introduction ?? ""
                item["tags"] = [String]()
            default: break
            }
            return item
        }
        return APIResponses.json(["total_count": page.total, "item_count": items.count, "item": items])
    }

    /// `GET material/get_materialcount`.
    func materialCount(_ request: Request) async -> Response {
        if let refusal = await refusal(of: request) { return refusal }
        let counts = await material.counts()
        return APIResponses.json([
            "image_count": counts.image, "voice_count": counts.voice, "video_count": counts.video, "news_count": 0,
        ])
    }

    /// `POST media/uploadimg`, one multipart part `media`: a JPEG or PNG of at most 1 MB for an
    /// article's body, answered `{"url"}`. Outside the library: no cap, no list, no delete.
    func uploadArticleImage(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        if let refusal = await refusal(of: request) { return refusal }
        let upload: MultipartUpload
        switch try await receiveMultipart(request, context: context, partLimit: Self.articleImageLimit) {
        case .refused(let response): return response
        case .received(let received): upload = received
        }
        guard let filename = upload.media.filename, !filename.isEmpty, !upload.media.usesExtendedFilename else {
            return APIResponses.error(.mediaDataMissing)
        }
        let allowed: Set<MediaFormat> = [.jpeg, .png]
        let named = Set(MediaFormat.formats(forExtension: Self.fileExtension(of: filename)))
        guard !named.isDisjoint(with: allowed) else { return APIResponses.error(.invalidFileType) }
        if upload.media.overLimit || upload.media.size > Int64(Self.articleImageLimit) {
            return APIResponses.error(.invalidImageSize)
        }
        guard upload.media.size > 0 else { return APIResponses.error(.emptyMediaData) }
        let format: MediaFormat
        do {
            format = try Self.materialRules.check(fileAt: upload.spoolPath, as: .image)
        } catch {
            return APIResponses.error(error.errorCode)
        }
        guard allowed.contains(format) else { return APIResponses.error(.invalidFileType) }
        let name = try await material.addArticleImage(spoolPath: upload.spoolPath, format: format)
        upload.keep()
        return APIResponses.json(["url": "http://\(host(of: request))/mmbiz/article/\(name)"])
    }

    /// `GET /cdn/material/ID.mp4` (a video's `down_url`) and `/mmbiz/image/ID.EXT` (an image's
    /// `url`): no token, like the platform's CDN links.
    func materialFile(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let name = context.parameters.get("file") ?? ""
        let id = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
        guard let stored = await material.lookup(id) else { return Response(status: .notFound) }
        return await materialBytes(stored, attachment: false)
    }

    /// `GET /mmbiz/article/NAME`: an article image, where its `url` points.
    func articleImage(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let name = context.parameters.get("file") ?? ""
        guard let path = await material.articleImagePath(name),
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        else {
            return Response(status: .notFound)
        }
        let format: MediaFormat = name.hasSuffix(".png") ? .png : .jpeg
        return Self.fileResponse(path: path, size: Int64(size), headers: [.contentType: format.contentType])
    }

    // MARK: Shared steps

    enum MultipartOutcome {
        case received(MultipartUpload)
        case refused(Response)
    }

    /// A multipart upload spooled to a file, removed when the request ends unless kept.
    final class MultipartUpload: Sendable {
        let spoolPath: String
        let media: SpooledMedia
        let fields: [String: String]
        private let kept = Mutex(false)

        init(spoolPath: String, media: SpooledMedia, fields: [String: String]) {
            self.spoolPath = spoolPath
            self.media = media
            self.fields = fields
        }

        /// The spool became stored bytes: it must not be removed.
        func keep() { kept.withLock { $0 = true } }

        deinit { if !kept.withLock({ $0 }) { unlink(spoolPath) } }
    }

    /// Reads a multipart body into a spool file (its part `media`) and its text fields.
    private func receiveMultipart(
        _ request: Request, context: EmulatorRequestContext, partLimit: Int
    ) async throws -> MultipartOutcome {
        guard request.method == .post else { return .refused(APIResponses.error(.requirePOST)) }
        let contentType = HeaderValue(parsing: request.headers[.contentType] ?? "")
        guard contentType.value == "multipart/form-data", let boundary = contentType.parameters["boundary"],
            !boundary.isEmpty
        else {
            return .refused(APIResponses.error(.mediaDataMissing))
        }
        let bodyLimit = Self.materialRules.profile.maxRequestBodySize
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > bodyLimit {
            return .refused(refuseAndClose(context: context))
        }
        let spoolPath = await material.temporaryPath()
        let spool = MultipartSpool(
            boundary: boundary, spoolPath: spoolPath, partLimit: Int64(partLimit), bodyLimit: bodyLimit)
        try await context.continueIfExpected(request)
        let outcome: MultipartSpool.Outcome
        do {
            outcome = try await spool.run(request.body)
        } catch {
            unlink(spoolPath)
            throw error
        }
        switch outcome {
        case .media(let media, let fields):
            return .received(MultipartUpload(spoolPath: spoolPath, media: media, fields: fields))
        case .bodyTooLarge:
            unlink(spoolPath)
            return .refused(refuseAndClose(context: context))
        case .malformed, .noMediaPart:
            unlink(spoolPath)
            return .refused(APIResponses.error(.mediaDataMissing))
        }
    }

    private enum NamedMaterial {
        case found(StoredMaterial)
        case refused(Response)
    }

    /// The material a `{"media_id"}` body names: 41006 without one, 40007 when there is none.
    private func namedMaterial(_ request: Request, context: EmulatorRequestContext) async throws -> NamedMaterial {
        guard request.method == .post else { return .refused(APIResponses.error(.requirePOST)) }
        guard let object = try await jsonBody(request, context: context) else {
            return .refused(APIResponses.error(.dataFormatError))
        }
        guard let id = object["media_id"] as? String, !id.isEmpty else {
            return .refused(APIResponses.error(.mediaIDMissing))
        }
        guard let stored = await material.lookup(id) else { return .refused(APIResponses.error(.invalidMediaID)) }
        return .found(stored)
    }

    /// Where a material's bytes are served: an image's `url`, a video's `down_url`.
    private func materialURL(of stored: StoredMaterial, request: Request) -> String {
        let folder = stored.type == .video ? "cdn/material" : "mmbiz/image"
        return "http://\(host(of: request))/\(folder)/\(stored.id).\(stored.format.fileExtension)"
    }

    func host(of request: Request) -> String {
        request.head.authority ?? "\(configuration.host):\(configuration.port)"
    }

    private func materialBytes(_ stored: StoredMaterial, attachment: Bool) async -> Response {
        var headers: HTTPFields = [.contentType: stored.format.contentType, .cacheControl: "no-cache, must-revalidate"]
        if attachment {
            headers[APIResponses.contentDisposition] =
                "attachment; filename=\"\(stored.id).\(stored.format.fileExtension)\""
        }
        return Self.fileResponse(path: await material.bytesPath(for: stored.id), size: stored.size, headers: headers)
    }

    /// A file's bytes, streamed in 64 KiB chunks.
    static func fileResponse(path: String, size: Int64, headers: HTTPFields) -> Response {
        var headers = headers
        headers[.contentLength] = String(size)
        headers[.date] = APIResponses.httpDate()
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody(contentLength: Int(size)) { writer in
                try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
                    for try await chunk in handle.readChunks(in: 0..<size, chunkLength: .kibibytes(64)) {
                        try await writer.write(chunk)
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// A whole number sent as a JSON number, a numeric string or a bool (SDKs send all three
    /// where the docs say a number).
    static func integer(_ value: Any?) -> Int? {
        switch value {
        case let number as NSNumber: Int(exactly: number.doubleValue)
        case let text as String: Int(text.trimmingCharacters(in: .whitespaces))
        default: nil
        }
    }

    private static func fileExtension(of filename: String) -> String {
        guard let dot = filename.lastIndex(of: ".") else { return "" }
        return filename[filename.index(after: dot)...].lowercased()
    }
}
