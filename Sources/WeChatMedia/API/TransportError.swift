/// A failure below the API: the connection, the HTTP exchange, or a reply that is not the API's.
public enum TransportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Connection refused, reset or cut, DNS, TLS: the request may not have reached the server.
    case connection(String)
    /// An HTTP status other than 200 (a proxy's or the server's 5xx page).
    case httpStatus(Int)
    /// A 200 whose body is neither the file nor the API's JSON (an HTML page, a cut-off body).
    case invalidResponse(String)
    /// The call ran past its deadline, retries included.
    case deadlineExceeded(seconds: Double)
    /// The request went out and no reply came in time: the server may have acted on it, so a
    /// request that is not idempotent (an upload) is not sent again.
    case noReply(String)
    /// The request went out and the connection ended before a whole reply came (a head then a
    /// cut body, or a connection of its own closed mid-exchange): the server may have acted on
    /// it, as after `noReply`.
    case cutOff(String)

    /// Whether the server may have acted on the request.
    public var mayHaveReachedServer: Bool {
        switch self {
        case .noReply, .cutOff: true
        default: false
        }
    }

    /// Whether trying again may succeed.
    public var isRetryable: Bool {
        switch self {
        case .connection, .invalidResponse, .noReply, .cutOff: true
        case .httpStatus(let status): status >= 500 || status == 429 || status == 408
        case .deadlineExceeded: false
        }
    }

    public var description: String {
        switch self {
        case .connection(let detail): "connection failed: \(detail)"
        case .httpStatus(let status): "HTTP status \(status)"
        case .invalidResponse(let detail): "invalid response: \(detail)"
        case .deadlineExceeded(let seconds): "no answer within \(seconds) s"
        case .noReply(let detail): "no reply in time (the request may have reached the server): \(detail)"
        case .cutOff(let detail):
            "the connection ended before the whole reply (the request may have reached the server): \(detail)"
        }
    }
}
