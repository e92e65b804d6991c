import Foundation
import Hummingbird
import NIOCore
import WeChatMedia

extension EmulatorAPI {
    /// `POST /cgi-bin/media/upload?access_token=ACCESS_TOKEN&type=TYPE`, one multipart part `media`.
    func upload(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        guard request.method == .post else { return APIResponses.error(.requirePOST) }
        if let refusal = await refusal(of: request, metering: .upload) { return refusal }
        guard let type = request.query("type").flatMap(MediaType.init(rawValue:)) else {
            return APIResponses.error(.invalidMediaType)
        }
        let contentType = HeaderValue(parsing: request.headers[.contentType] ?? "")
        guard contentType.value == "multipart/form-data", let boundary = contentType.parameters["boundary"],
            !boundary.isEmpty
        else {
            return APIResponses.error(.mediaDataMissing)
        }
        let bodyLimit = configuration.limits.maxRequestBodySize
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > bodyLimit {
            return refuseAndClose(context: context)
        }

        let spoolPath = await store.temporaryPath()
        var keepSpool = false
        defer { if !keepSpool { unlink(spoolPath) } }
        let spool = MultipartSpool(
            boundary: boundary, spoolPath: spoolPath, partLimit: Int64(rules.profile.maxSize(for: type)),
            bodyLimit: bodyLimit)
        let media: SpooledMedia
        try await context.continueIfExpected(request)
        switch try await spool.run(request.body) {
        case .bodyTooLarge: return refuseAndClose(context: context)
        case .malformed, .noMediaPart: return APIResponses.error(.mediaDataMissing)
        case .media(let spooled, _): media = spooled
        }

        guard let filename = media.filename, !media.usesExtendedFilename,
            filename.utf8.allSatisfy({ $0 < 0x80 })
        else {
            return APIResponses.error(.mediaDataMissing)
        }
        guard rules.acceptsFilename(filename, as: type) else { return APIResponses.error(.invalidFileType) }
        if media.overLimit {
            return APIResponses.error(
                MediaRuleViolation.tooLarge(type: type, size: Int(media.size), limit: rules.profile.maxSize(for: type))
                    .errorCode)
        }
        let format: MediaFormat
        do {
            format = try rules.check(fileAt: spoolPath, as: type)
        } catch {
            return APIResponses.error(error.errorCode)
        }
        let stored = try await store.add(spoolPath: spoolPath, type: type, format: format, size: media.size)
        keepSpool = true
        var reply: [String: any Sendable] = [
            "type": type.rawValue, type.mediaIDKey: stored.id, "created_at": stored.createdAt,
        ]
        if configuration.limits == .current {
            reply["errcode"] = 0
            reply["errmsg"] = "ok"
        }
        return APIResponses.json(reply)
    }

    /// Answers 45001 and closes the connection, so a body far over every limit is not read.
    func refuseAndClose(context: EmulatorRequestContext) -> Response {
        let buffer = APIResponses.jsonBuffer(APIResponses.errorObject(.mediaSizeOutOfLimit))
        let channel = context.channel
        var headers = APIResponses.jsonHeaders
        headers[.connection] = "close"
        headers[APIResponses.errcodeHeader] = String(WeChatErrorCode.mediaSizeOutOfLimit.rawValue)
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody(contentLength: buffer.readableBytes) { writer in
                try await writer.write(buffer)
                try await writer.finish(nil)
                channel.close(promise: nil)
            })
    }
}
