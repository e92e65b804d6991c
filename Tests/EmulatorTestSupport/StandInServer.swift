import AsyncHTTPClient
import Foundation
import Logging
import WeChatMedia

/// A stand-in for the API that answers with the replies a test gives, byte for byte: values no
/// real server sends (`"created_at": 9223372036854775807`), which the emulator, being faithful,
/// cannot be made to send. It is `Fixtures/standin_server.py` in a child process on a free
/// loopback port; `with` always stops and reaps it, also when the test body throws.
public struct StandInServer: Sendable {
    /// What the server answers, as raw bodies.
    public struct Replies: Sendable {
        /// For `/cgi-bin/token` and `/cgi-bin/stable_token`.
        public var token: String
        /// For `POST /cgi-bin/media/upload`.
        public var upload: String
        /// Headers and body for GET and HEAD of `/cgi-bin/media/get`; nil answers errcode 40007.
        public var download: (headers: [(String, String)], body: String)?

        public init(
            token: String = Replies.goodToken, upload: String = Replies.goodUpload,
            download: (headers: [(String, String)], body: String)? = nil
        ) {
            self.token = token
            self.upload = upload
            self.download = download
        }

        public static let goodToken = #"{"access_token":"standin-token-0123456789","expires_in":7200}"#
        public static let goodUpload =
            #"{"type":"image","media_id":"standinMediaId0123456789_-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL","created_at":1486032778}"#
    }

    public let baseURL: String
    private let child: PythonFixtureProcess

    public static func with<T>(_ replies: Replies, _ body: (StandInServer) async throws -> T) async throws -> T {
        let server = try await start(replies)
        return try await using(server, stop: { await $0.stop() }, body)
    }

    /// Starts the server and waits, with a deadline, for the port it prints.
    public static func start(_ replies: Replies) async throws -> StandInServer {
        var configuration: [String: Any] = ["token": replies.token, "upload": replies.upload]
        if let download = replies.download {
            configuration["get"] = ["headers": download.headers.map { [$0.0, $0.1] }, "body": download.body]
        }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: configuration), as: UTF8.self)
        let child = try await PythonFixtureProcess.start("standin_server.py", [json])
        return StandInServer(baseURL: "http://127.0.0.1:\(child.port)", child: child)
    }

    /// Ends the server and waits (with a deadline) until it has been reaped.
    public func stop() async { await child.stop() }

    /// How many requests each path got (`/cgi-bin/media/upload`: 1).
    public func requestCounts() async throws -> [String: Int] {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: baseURL + "/_counts"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 * 1024)
        return (try JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Int] ?? [:]
    }

    /// A client of the project's own, talking to this server with `retry`.
    public func makeClient(
        endpoint: AppSecretTokenProvider.Endpoint = .stable, retry: RetryPolicy = .default
    ) -> WeChatMediaClient {
        var logger = Logger(label: "test.standin-client")
        logger.logLevel = .warning
        let connection = APIConnection(baseURL: baseURL, httpClient: HTTPClient.shared)
        let tokens = AppSecretTokenProvider(
            appID: "wxtest", secret: Secret("standin-secret"), endpoint: endpoint, connection: connection,
            retry: retry, logger: logger)
        return WeChatMediaClient(
            connection: connection, tokens: tokens, rules: MediaRules(profile: .seed), retry: retry, logger: logger)
    }
}
