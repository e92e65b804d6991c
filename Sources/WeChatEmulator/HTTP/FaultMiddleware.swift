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
        for fault in faults.faults(for: endpoint) {
            switch fault.kind {
            case .delay:
                try await Task.sleep(for: .milliseconds(fault.delayMilliseconds ?? 2000))
            case .systemError:
                return APIResponses.error(.systemBusy)
            case .serviceUnavailable:
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/html"],
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(string: "<html><body><h1>503 Service Unavailable</h1></body></html>")))
            case .drop:
                try await context.channel.close()
                throw DroppedConnection()
            }
        }
        return try await next(request, context)
    }

    static func endpoint(of request: Request) -> EmulatorEndpoint? {
        switch request.uri.path {
        case "/cgi-bin/token": .token
        case "/cgi-bin/stable_token": .stableToken
        case "/cgi-bin/media/upload": .upload
        case "/cgi-bin/media/get": request.method == .head ? .head : .get
        case let path where path.hasPrefix("/cdn/video/"): .video
        default: nil
        }
    }
}
