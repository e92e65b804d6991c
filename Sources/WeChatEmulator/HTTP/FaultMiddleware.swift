import Hummingbird
import NIOCore
import WeChatMedia

/// Counts each API request by endpoint and, when a fault rule strikes it, misbehaves as told.
struct FaultMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext
    let faults: FaultInjector
    let counters: RequestCounters

    struct DroppedConnection: Error {}

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let endpoint = Self.endpoint(of: request) else { return try await next(request, context) }
        counters.record(endpoint)
        var afterwards: [FaultRule] = []
        var dropAfterActing = false
        for fault in faults.faults(for: endpoint) {
            switch fault.kind {
            case .delay:
                await faults.hold(for: .milliseconds(fault.delayMilliseconds ?? 2000))
                try Task.checkCancellation()
            case .systemError:
                return APIResponses.error(.systemBusy)
            case .dailyQuota:
                return APIResponses.error(.dailyQuotaExceeded)
            case .serviceUnavailable:
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/html"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(string: "<html><body><h1>503 Service Unavailable</h1></body></html>")))
            case .drop:
                try await context.channel.close()
                throw DroppedConnection()
            case .html:
                return Self.body(
                    "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", type: "text/html")
            case .badJSON:
                return Self.body("{\"errcode\": 0, \"media_id\": ", type: "text/plain")
            case .hugeJSON:
                return Self.body(
                    #"{"errcode":-1,"errmsg":""# + String(repeating: "x", count: 1 << 20) + #""}"#,
                    type: "application/json")
            case .errorAsFile:
                return Self.body(#"{"errcode":40007,"errmsg":"invalid media_id"}"#, type: "image/jpeg")
            case .dropAfter:
                dropAfterActing = true
            case .cut, .shortLength, .evilFilename, .trickle:
                afterwards.append(fault)
            }
        }
        var response = try await next(request, context)
        if dropAfterActing {
            try await context.channel.close()
            throw DroppedConnection()
        }
        for fault in afterwards { response = Self.misbehave(response, fault, channel: context.channel) }
        return response
    }

    private static func body(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Breaks a real answer the way `fault` says; answers without a body are left alone.
    private static func misbehave(_ response: Response, _ fault: FaultRule, channel: any Channel) -> Response {
        var response = response
        guard let length = response.headers[.contentLength].flatMap(Int.init), length > 0 else { return response }
        let original = response.body
        switch fault.kind {
        case .cut:
            response.body = ResponseBody(contentLength: length) { writer in
                try await original.write(CuttingWriter(inner: writer, remaining: length / 2, channel: channel))
            }
        case .shortLength:
            // The whole body after a Content-Length of half of it; then the connection goes, so the
            // surplus cannot be read as the next answer on a reused connection.
            response.body = ResponseBody { writer in
                try await original.write(writer)
                try await channel.close()
            }
            response.headers[.contentLength] = String(length / 2)
        case .evilFilename:
            response.headers[APIResponses.contentDisposition] = "attachment; filename=\"../../../tmp/wxmediafs-evil\""
        case .trickle:
            let interval = Duration.milliseconds(fault.delayMilliseconds ?? 1000)
            response.body = ResponseBody(contentLength: length) { writer in
                try await original.write(TricklingWriter(inner: writer, interval: interval))
            }
        default:
            break
        }
        return response
    }

    static func endpoint(of request: Request) -> EmulatorEndpoint? {
        switch request.uri.path {
        case "/cgi-bin/token": .token
        case "/cgi-bin/stable_token": .stableToken
        case "/cgi-bin/media/upload": .upload
        case "/cgi-bin/media/get": request.method == .head ? .head : .get
        case "/cgi-bin/openapi/quota/get": .quota
        case "/cgi-bin/material/add_material": .addMaterial
        case "/cgi-bin/material/get_material": .getMaterial
        case "/cgi-bin/material/del_material": .deleteMaterial
        case "/cgi-bin/material/batchget_material": .batchgetMaterial
        case "/cgi-bin/material/get_materialcount": .materialCount
        case "/cgi-bin/media/uploadimg": .uploadImage
        case "/cgi-bin/draft/add": .draftAdd
        case "/cgi-bin/draft/get": .draftGet
        case "/cgi-bin/draft/update": .draftUpdate
        case "/cgi-bin/draft/delete": .draftDelete
        case "/cgi-bin/draft/count": .draftCount
        case "/cgi-bin/draft/batchget": .draftBatchget
        case "/cgi-bin/freepublish/submit": .publishSubmit
        case "/cgi-bin/freepublish/get": .publishGet
        case "/cgi-bin/freepublish/batchget": .publishBatchget
        case "/cgi-bin/freepublish/getarticle": .publishGetArticle
        case "/cgi-bin/freepublish/delete": .publishDelete
        case let path where path.hasPrefix("/s/"): .articlePage
        case let path where path.hasPrefix("/cdn/video/"): .video
        case let path where path.hasPrefix("/cdn/material/") || path.hasPrefix("/mmbiz/"): .materialFile
        default: nil
        }
    }
}
