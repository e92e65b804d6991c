import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import WeChatEmulator
import WeChatMedia

/// An emulator on a free loopback port with its own data folder and test controls on, plus an
/// HTTP client for the clients under test and one for the fixture's own requests. `with` always
/// stops them all, also when the test body throws.
public struct EmulatorFixture: Sendable {
    public static let appID = "wxtestapp"
    public static let secret = Secret("test-secret-value-0123456789")

    public let emulator: RunningEmulator
    /// The clients under test share this one's connections.
    public let http: HTTPClient
    /// For the clients' requests that must reach the server at most once, as a mount has.
    public let singleUse: HTTPClient
    /// The fixture's raw requests and test controls have connections of their own: after a
    /// fault that breaks a connection once its answer is read (`short_length` sends more than it
    /// declared, then closes it), the client has already put it back in its pool, and a control
    /// that drew it from a shared pool failed with "I/O on closed channel" (4 runs in 40).
    let controls: HTTPClient
    public let dataDirectory: String
    public var baseURL: String { emulator.baseURL }

    public static func with<T>(
        limits: LimitsProfile = .seed, dataDirectory: String? = nil, dailyQuota: DailyQuota? = nil,
        materialCaps: MaterialCaps = .documented, _ body: (EmulatorFixture) async throws -> T
    ) async throws -> T {
        let fixture = try await start(
            limits: limits, dataDirectory: dataDirectory, dailyQuota: dailyQuota, materialCaps: materialCaps)
        return try await using(fixture, stop: { try await $0.stop() }, body)
    }

    /// Starts an emulator; `port` 0 picks a free one (give an old one to restart "the same server").
    public static func start(
        limits: LimitsProfile = .seed, dataDirectory: String? = nil, port: Int = 0, dailyQuota: DailyQuota? = nil,
        materialCaps: MaterialCaps = .documented
    ) async throws -> EmulatorFixture {
        let directory = try dataDirectory ?? TemporaryDirectory.make()
        var configuration = EmulatorConfiguration(
            host: "127.0.0.1", port: port, dataDirectory: directory, appID: appID, secret: secret, limits: limits,
            testControls: true, dailyQuota: dailyQuota)
        configuration.materialCaps = materialCaps
        var logger = Logger(label: "test.emulator")
        logger.logLevel = .warning
        let emulator = try await RunningEmulator.start(configuration: configuration, logger: logger)
        return EmulatorFixture(
            emulator: emulator, http: HTTPClient(eventLoopGroupProvider: .singleton),
            singleUse: HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: APIConnection.singleUse(HTTPClient.Configuration())),
            controls: HTTPClient(eventLoopGroupProvider: .singleton), dataDirectory: directory)
    }

    public func stop() async throws {
        try? await http.shutdown()
        try? await singleUse.shutdown()
        try? await controls.shutdown()
        await emulator.stop()
    }

    /// The port it listens on.
    public var port: Int { Int(baseURL.split(separator: ":").last ?? "0") ?? 0 }

    // MARK: Raw HTTP

    public struct Reply: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// The body as a JSON object; empty when it is not one.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }

        public var errcode: Int? { json["errcode"] as? Int }
    }

    public func request(
        _ method: HTTPMethod = .GET, _ pathAndQuery: String, body: [UInt8]? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + pathAndQuery)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await controls.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Reply(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
            body: Array(bytes.readableBytesView))
    }

    /// A fresh `/cgi-bin/token` token.
    public func legacyToken() async throws -> String {
        let reply = try await request(
            .GET, "/cgi-bin/token?grant_type=client_credential&appid=\(Self.appID)&secret=\(Self.secret.value)")
        guard let token = reply.json["access_token"] as? String else {
            throw FixtureError("no token in \(String(decoding: reply.body, as: UTF8.self))")
        }
        return token
    }

    /// A multipart body with one part; `disposition` is the part's Content-Disposition value.
    public static func multipart(disposition: String, content: [UInt8], boundary: String = "XyZbOuNdArY")
        -> (body: [UInt8], contentType: String)
    {
        var body = Array(
            "--\(boundary)\r\nContent-Disposition: \(disposition)\r\nContent-Type: application/octet-stream\r\n\r\n"
                .utf8)
        body += content
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return (body, "multipart/form-data; boundary=\(boundary)")
    }

    /// Uploads `content` as `filename` through the raw API and returns the reply.
    public func upload(_ content: [UInt8], filename: String, type: String, token: String) async throws -> Reply {
        let part = Self.multipart(disposition: "form-data; name=\"media\"; filename=\"\(filename)\"", content: content)
        return try await request(
            .POST, "/cgi-bin/media/upload?access_token=\(token)&type=\(type)", body: part.body,
            headers: [("Content-Type", part.contentType)])
    }

    // MARK: Test controls

    public func advanceClock(seconds: Int64) async throws {
        _ = try await request(.POST, "/_emulator/clock/advance?seconds=\(seconds)")
    }

    /// Every token issued so far is refused with 40001 from now on.
    public func retireTokens() async throws {
        let reply = try await request(.POST, "/_emulator/tokens/retire")
        guard reply.status == 200 else {
            throw FixtureError("retire refused: \(String(decoding: reply.body, as: UTF8.self))")
        }
    }

    public func counters() async throws -> [String: Int] {
        (try await request(.GET, "/_emulator/counters").json as? [String: Int]) ?? [:]
    }

    public func setFaults(_ json: String) async throws {
        let reply = try await request(.POST, "/_emulator/faults", body: Array(json.utf8))
        guard reply.status == 200 else {
            throw FixtureError("faults refused: \(String(decoding: reply.body, as: UTF8.self))")
        }
    }

    /// A test control by `method` and path under `/_emulator/`, which must answer 200.
    public func control(_ method: HTTPMethod, _ path: String, json: String? = nil) async throws {
        let reply = try await request(method, "/_emulator/" + path, body: json.map { Array($0.utf8) })
        guard reply.status == 200 else {
            throw FixtureError("\(path) refused: \(String(decoding: reply.body, as: UTF8.self))")
        }
    }

    /// `POST /cgi-bin/openapi/quota/get` for `cgiPath` with `token`.
    public func quota(of cgiPath: String, token: String) async throws -> Reply {
        try await request(
            .POST, "/cgi-bin/openapi/quota/get?access_token=\(token)", body: Array(#"{"cgi_path":"\#(cgiPath)"}"#.utf8))
    }

    public func injectedFaults() async throws -> [Int] {
        (try await request(.GET, "/_emulator/faults").json["injected"] as? [Int]) ?? []
    }

    // MARK: A client of the project's own

    public func makeClient(
        rules: LimitsProfile? = nil, endpoint: AppSecretTokenProvider.Endpoint = .stable,
        retry: RetryPolicy = .default, tokens: (any AccessTokenProvider)? = nil, singleUseConnections: Bool = true
    ) -> WeChatMediaClient {
        var logger = Logger(label: "test.client")
        logger.logLevel = .warning
        let connection = APIConnection(
            baseURL: baseURL, httpClient: http, singleUseClient: singleUseConnections ? singleUse : nil)
        let provider =
            tokens
            ?? AppSecretTokenProvider(
                appID: Self.appID, secret: Self.secret, endpoint: endpoint, connection: connection, retry: retry,
                logger: logger)
        return WeChatMediaClient(
            connection: connection, tokens: provider, rules: MediaRules(profile: rules ?? .seed), retry: retry,
            logger: logger)
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
