import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One API server reached through a shared AsyncHTTPClient: builds URLs, turns transport failures
/// into `TransportError` (with credentials redacted), and reads small JSON replies with a cap.
public struct APIConnection: Sendable {
    public let baseURL: String
    public let httpClient: HTTPClient
    /// Requests sent, by kind, for `wxmediafs status`.
    public let statistics = RequestStatistics()
    /// Largest JSON reply read; anything bigger is not the API's.
    public static let maxJSONReply = 64 * 1024

    /// For requests that must reach the server at most once: a client whose connections serve
    /// one request each (`maximumUsesPerConnection = 1`), so that such a request never goes out
    /// on a kept-alive connection the server may already have closed, and a connection that ends
    /// mid-exchange can only mean that the request may have arrived. Nil sends them through
    /// `httpClient`, where the two cannot be told apart and both count as "may have arrived".
    public let singleUseClient: HTTPClient?

    public init(baseURL: String, httpClient: HTTPClient, singleUseClient: HTTPClient? = nil) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.httpClient = httpClient
        self.singleUseClient = singleUseClient
    }

    /// How `singleUseClient` is configured from the shared client's configuration.
    public static func singleUse(_ configuration: HTTPClient.Configuration) -> HTTPClient.Configuration {
        var configuration = configuration
        configuration.maximumUsesPerConnection = 1
        return configuration
    }

    public func url(path: String, query: String) -> String {
        query.isEmpty ? baseURL + path : baseURL + path + "?" + query
    }

    /// Sends `request` (counted as `kind`), mapping every transport failure to `TransportError`.
    /// `atMostOnce` sends it on a connection of its own (`singleUseClient`), and any failure but
    /// one that kept the request from leaving counts as "may have reached the server" (`cutOff`).
    public func send(
        _ request: HTTPClientRequest, as kind: RequestStatistics.Kind, deadline: NIODeadline, atMostOnce: Bool = false
    ) async throws -> HTTPClientResponse {
        var failed = true
        defer { statistics.record(kind, failed: failed) }
        do {
            let client = atMostOnce ? (singleUseClient ?? httpClient) : httpClient
            let response = try await client.execute(request, deadline: deadline)
            failed = response.status != .ok
            return response
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded {
            throw TransportError.noReply(String(describing: error))
        } catch let error where atMostOnce && !Self.keptFromLeaving(error) {
            throw TransportError.cutOff(Redaction.redact(String(describing: error)))
        } catch {
            throw TransportError.connection(Redaction.redact(String(describing: error)))
        }
    }

    /// Whether `error` says that the request cannot have left: no connection was made (refused,
    /// timed out while connecting, none from the pool in time), or it was written to a connection
    /// already closed (a kept-alive one the server had closed, in the shared pool). A refused
    /// connection is what AsyncHTTPClient reports once the request's deadline has passed while it
    /// kept trying to connect (`IOError` ECONNREFUSED, seen against a closed port).
    static func keptFromLeaving(_ error: any Error) -> Bool {
        switch error {
        case let error as HTTPClientError:
            error == .connectTimeout || error == .getConnectionFromPoolTimeout
        case is NIOConnectionError:
            true
        case let error as ChannelError:
            switch error {
            case .connectTimeout, .ioOnClosedChannel: true
            default: false
            }
        case let error as IOError:
            error.errnoCode == ECONNREFUSED
        default:
            false
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
        by deadline: NIODeadline, else timedOut: TransportError = .connection("no complete reply before the deadline"),
        _ body: @escaping @Sendable () async throws -> T
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
                throw timedOut
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    /// Reads a JSON reply (by `deadline`), refusing non-200 statuses and bodies over `maxJSONReply`.
    public static func readReply(_ response: HTTPClientResponse, deadline: NIODeadline) async throws -> APIReply {
        try await bounded(by: deadline, else: replyNotWhole) { try await readReply(response) }
    }

    /// A reply whose head came and whose body did not by the deadline: the server got the request.
    private static let replyNotWhole = TransportError.cutOff("no whole reply before the deadline")

    /// Reads a JSON reply, refusing non-200 statuses and bodies over `maxJSONReply`.
    public static func readReply(_ response: HTTPClientResponse) async throws -> APIReply {
        try APIReply.parse(try await readBody(response).readableBytesView)
    }

    /// Reads a small reply body (by `deadline`), refusing non-200 statuses and bodies over
    /// `maxJSONReply`: for answers of another shape than `APIReply`'s.
    public static func readBody(_ response: HTTPClientResponse, deadline: NIODeadline) async throws -> ByteBuffer {
        try await bounded(by: deadline, else: replyNotWhole) { try await readBody(response) }
    }

    private static func readBody(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        guard response.status == .ok else { throw TransportError.httpStatus(Int(response.status.code)) }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: maxJSONReply)
        } catch is NIOTooManyBytesError {
            throw TransportError.invalidResponse("reply larger than \(maxJSONReply) bytes")
        } catch {
            // The head came: the server got the request, whatever became of the rest.
            throw TransportError.cutOff("reply cut off: " + Redaction.redact(String(describing: error)))
        }
        return body
    }
}
