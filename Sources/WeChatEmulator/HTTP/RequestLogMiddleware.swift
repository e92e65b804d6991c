import Deadlines
import Hummingbird
import Logging
import NIOCore
import WeChatMedia

/// One log line per request: method, path, query with credentials hidden, status, errcode, time.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = EmulatorRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let target = Redaction.redact(request.uri.query.map { request.uri.path + "?" + $0 } ?? request.uri.path)
        do {
            var response = try await next(request, context)
            let errcode = response.headers[APIResponses.errcodeHeader] ?? "0"
            response.headers[APIResponses.errcodeHeader] = nil
            logger.info(
                "\(request.method) \(target) -> \(response.status.code) errcode=\(errcode) \(Self.milliseconds(since: start)) ms"
            )
            return response
        } catch {
            logger.info("\(request.method) \(target) -> failed (\(error)) \(Self.milliseconds(since: start)) ms")
            throw error
        }
    }

    private static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        return start.duration(to: .now).wholeMilliseconds
    }
}
