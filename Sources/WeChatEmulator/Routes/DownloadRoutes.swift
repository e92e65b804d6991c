import Hummingbird
import NIOCore
import NIOFileSystem
import WeChatMedia

extension EmulatorAPI {
    /// `GET` and `HEAD /cgi-bin/media/get?access_token=ACCESS_TOKEN&media_id=MEDIA_ID`: the file with
    /// the seed's headers, a `video_url` for videos under the current profile, or the error JSON.
    func download(_ request: Request, headOnly: Bool) async -> Response {
        if let refusal = await refusal(of: request, metering: .download) { return refusal }
        guard let id = request.query("media_id"), !id.isEmpty else { return APIResponses.error(.mediaIDMissing) }
        guard let media = await store.lookup(id) else { return APIResponses.error(.invalidMediaID) }
        if media.type == .video {
            guard rules.profile.servesVideoURL else {
                return APIResponses.error(.invalidMediaType, detail: "video is not supported for download")
            }
            let host = request.head.authority ?? "\(configuration.host):\(configuration.port)"
            return APIResponses.json(["video_url": "http://\(host)/cdn/video/\(id).mp4"])
        }
        return await fileResponse(media, headOnly: headOnly)
    }

    /// `GET /cdn/video/MEDIA_ID.mp4`: where a `video_url` points. Needs no token, like a signed CDN link.
    func video(_ request: Request, context: EmulatorRequestContext) async -> Response {
        let name = context.parameters.get("file") ?? ""
        let id = name.hasSuffix(".mp4") ? String(name.dropLast(4)) : name
        guard rules.profile.servesVideoURL, let media = await store.lookup(id), media.type == .video else {
            return Response(status: .notFound)
        }
        return await fileResponse(media, headOnly: request.method == .head)
    }

    private func fileResponse(_ media: StoredMedia, headOnly: Bool) async -> Response {
        var headers: HTTPFields = [
            .contentType: media.format.contentType,
            .cacheControl: "no-cache, must-revalidate",
        ]
        headers[APIResponses.contentDisposition] = "attachment; filename=\"\(media.id).\(media.format.fileExtension)\""
        if headOnly {
            headers[.date] = APIResponses.httpDate()
            headers[.contentLength] = String(media.size)
            return Response(status: .ok, headers: headers, body: ResponseBody())
        }
        return Self.fileResponse(path: await store.bytesPath(for: media.id), size: media.size, headers: headers)
    }
}
