import Hummingbird

/// Refuses API calls from outside the whitelist a test set (`AccessControl`), as the platform
/// refuses a server whose IP is not registered: HTTP 200, errcode 61004 and the caller's IP.
struct AccessMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext
    let access: AccessControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard request.uri.path.hasPrefix("/cgi-bin/") else { return try await next(request, context) }
        let caller = context.channel.remoteAddress?.ipAddress
        if let code = access.refusal(ofCallerAt: caller) {
            return APIResponses.error(code, detail: "requestIP: \(caller ?? "unknown")")
        }
        return try await next(request, context)
    }
}
