import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// One API server reached through a shared AsyncHTTPClient: builds URLs, turns transport failures
/// into `TransportError` (with credentials redacted), and reads small JSON replies with a cap.
public struct APIConnection: Sendable {
    public let baseURL: String
    public let httpClient: HTTPClient
    /// Requests sent, by kind, for `wxmediafs status`.
    public let statistics = RequestStatistics()
    /// Largest JSON reply read; anything bigger is not the API's.
    public static let maxJSONReply = 64 * 1024

    public init(baseURL: String, httpClient: HTTPClient) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.httpClient = httpClient
    }

    public func url(path: String, query: String) -> String {
        query.isEmpty ? baseURL + path : baseURL + path + "?" + query
    }

    /// Sends `request` (counted as `kind`), mapping every transport failure to `TransportError`.
    public func send(_ request: HTTPClientRequest, as kind: RequestStatistics.Kind, deadline: NIODeadline)
        async throws -> HTTPClientResponse
    {
        var failed = true
        defer { statistics.record(kind, failed: failed) }
        do {
            let response = try await httpClient.execute(request, deadline: deadline)
            failed = response.status != .ok
            return response
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded {
            throw TransportError.noReply(String(describing: error))
        } catch {
            throw TransportError.connection(Redaction.redact(String(describing: error)))
        }
    }

    /// A request whose answer must be JSON: to a token endpoint unless `kind` says otherwise.
    public func jsonRequest(
        path: String, query: String, method: HTTPMethod = .GET, body: ByteBuffer? = nil,
        contentType: String? = nil, as kind: RequestStatistics.Kind = .token, deadline: NIODeadline
    ) async throws -> APIReply {
        var request = HTTPClientRequest(url: url(path: path, query: query))
        request.method = method
        if let body {
            request.body = .bytes(body)
        }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        do {
            let response = try await send(request, as: kind, deadline: deadline)
            let reply = try await Self.readReply(response, deadline: deadline)
            if kind == .token { APIMetrics.tokenFetched(errcode: reply.errcode ?? 0) }
            return reply
        } catch {
            if kind == .token { APIMetrics.tokenFetched(errcode: nil) }
            throw error
        }
    }

    /// Runs `body` but gives up at `deadline`: AsyncHTTPClient's deadline covers the response
    /// head, not a body that trickles in, so body reads are raced against a timer here. The body
    /// starts on the calling thread; one that ends without waiting (a small reply arrives with
    /// its head) needs no timer, whose task and clock cost more than the read.
    public static func bounded<T: Sendable>(
        by deadline: NIODeadline, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            let ended = Mutex(false)
            group.addImmediateTask {
                defer { ended.withLock { $0 = true } }
                return try await body()
            }
            if ended.withLock({ $0 }) { return try await group.next() ?? { throw CancellationError() }() }
            group.addTask {
                let remaining = deadline.uptimeNanoseconds.subtractingReportingOverflow(
                    NIODeadline.now().uptimeNanoseconds)
                if !remaining.overflow, remaining.partialValue > 0 {
                    try await Task.sleep(nanoseconds: remaining.partialValue)
                }
                throw TransportError.connection("no complete reply before the deadline")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Reads a JSON reply (by `deadline`), refusing non-200 statuses and bodies over `maxJSONReply`.
    public static func readReply(_ response: HTTPClientResponse, deadline: NIODeadline) async throws -> APIReply {
        try await bounded(by: deadline) { try await readReply(response) }
    }

    /// Reads a JSON reply, refusing non-200 statuses and bodies over `maxJSONReply`.
    public static func readReply(_ response: HTTPClientResponse) async throws -> APIReply {
        try APIReply.parse(try await readBody(response).readableBytesView)
    }

    /// Reads a small reply body (by `deadline`), refusing non-200 statuses and bodies over
    /// `maxJSONReply`: for answers of another shape than `APIReply`'s.
    public static func readBody(_ response: HTTPClientResponse, deadline: NIODeadline) async throws -> ByteBuffer {
        try await bounded(by: deadline) { try await readBody(response) }
    }

    private static func readBody(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        guard response.status == .ok else { throw TransportError.httpStatus(Int(response.status.code)) }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: maxJSONReply)
        } catch is NIOTooManyBytesError {
            throw TransportError.invalidResponse("reply larger than \(maxJSONReply) bytes")
        } catch {
            throw TransportError.connection(Redaction.redact(String(describing: error)))
        }
        return body
    }
}
