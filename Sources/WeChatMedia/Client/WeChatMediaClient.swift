import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// The temporary-media API: upload, HEAD and download, with the token refreshed once on
/// 40001/40014/42001 and transient failures retried under a bounded policy. Bytes stream between
/// disk and network; no file is held whole in memory.
public struct WeChatMediaClient: Sendable {
    public let connection: APIConnection
    public let tokens: any AccessTokenProvider
    public let rules: MediaRules
    public let retry: RetryPolicy
    /// The fleet's upload pause after a 45009; nil for a host of its own, which retries as for
    /// any transient failure.
    public let uploadPause: UploadPausePolicy?
    let logger: Logger

    /// For a fleet, `tokens` is an `AppSecretTokenProvider` with a `SharedTokenStore` and
    /// `uploadPause` names the shared pause:
    ///
    ///     let client = WeChatMediaClient(
    ///         connection: connection, tokens: tokens, rules: rules, logger: logger,
    ///         uploadPause: UploadPausePolicy(shared: PostgresUploadPause(client: postgres, logger: logger)))
    public init(
        connection: APIConnection, tokens: any AccessTokenProvider, rules: MediaRules,
        retry: RetryPolicy = .default, logger: Logger, uploadPause: UploadPausePolicy? = nil
    ) {
        self.connection = connection
        self.tokens = tokens
        self.rules = rules
        self.retry = retry
        self.uploadPause = uploadPause
        self.logger = logger
    }

    // MARK: Upload

    /// Uploads the file at `path` as `type`. The file is checked against the rules first (throwing
    /// `MediaRuleViolation` without any request); it is sent as `media.<ext>` with the extension of
    /// its detected format, whatever the local file is called.
    /// `progress` is told how many of the file's bytes went out, after each chunk (again from 0 on a retry).
    /// With an `uploadPause`, a 45009 is not retried but pauses the fleet's uploads, and an upload
    /// while they are paused fails at once with 45009 (see `UploadPausePolicy`).
    public func upload(
        fileAt path: String, as type: MediaType, progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws -> UploadedMedia {
        let format = try rules.check(fileAt: path, as: type)
        let filename = "media." + format.fileExtension
        return try await retry.run(logger: logger, operation: "upload") { deadline in
            try await uploadPause?.check(by: deadline)
            do {
                return try await withFreshToken { token in
                    try await uploadOnce(
                        path: path, type: type, format: format, filename: filename, token: token, deadline: deadline,
                        progress: progress)
                }
            } catch let error as APIError where error.code == .dailyQuotaExceeded {
                guard let uploadPause else { throw error }
                await uploadPause.record(error, by: deadline, logger: logger)
                throw FinalFailure(error)
            } catch let error as TransportError where error.mayHaveReachedServer {
                // Sent again, the server might keep the file twice (and count it twice).
                throw FinalFailure(error)
            }
        }
    }

    private func uploadOnce(
        path: String, type: MediaType, format: MediaFormat, filename: String, token: AccessToken, deadline: NIODeadline,
        progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> UploadedMedia {
        let query = QueryString.encode([("access_token", token.value), ("type", type.rawValue)])
        let file = try LocalFile.openForReading(path)
        defer { file.close() }
        let size = try file.size()
        // The file was checked by path before it was opened here; one that grew since is refused
        // again rather than sent, and the body's length (file plus framing) stays a small sum.
        let limit = rules.profile.maxSize(for: type)
        guard size <= Int64(limit) else {
            throw MediaRuleViolation.tooLarge(type: type, size: Int(clamping: size), limit: limit)
        }
        let body = MultipartFileBody(
            fileChunks: FileChunkSequence(file: file, end: size, chunkLength: Self.uploadChunkLength), fileSize: size,
            filename: filename, progress: progress)
        var request = HTTPClientRequest(url: connection.url(path: "/cgi-bin/media/upload", query: query))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: body.contentType)
        request.body = try body.requestBody()
        let response = try await connection.send(request, as: .upload, deadline: deadline)
        let reply = try await APIConnection.readReply(response, deadline: deadline)
        if let error = reply.error { throw error }
        // The server may well have the file, but an id or time that cannot be true is never
        // handed on: the upload fails (EIO in the filesystem), and is not sent again.
        let id: String
        let createdAt: Int64
        do {
            id = try reply.uploadedMediaID(for: type)
            createdAt = try reply.uploadCreatedAt()
        } catch {
            throw FinalFailure(error)
        }
        return UploadedMedia(mediaID: id, type: type, createdAt: createdAt, format: format, size: size)
    }

    /// Bytes read from the spool per chunk of an upload body. 256 KiB was measured too: no faster
    /// for 10 MiB, and 5-15 MiB more peak memory with 8 uploads at once.
    static let uploadChunkLength = 64 * 1024

    // MARK: HEAD

    /// What the server knows of `mediaID`, from a HEAD request. An answer without
    /// `Content-disposition` is an error or a video URL, whose JSON only a GET can carry.
    public func head(mediaID: String) async throws -> RemoteMedia {
        try await retry.run(logger: logger, operation: "head") { deadline in
            try await withFreshToken { token in
                var request = HTTPClientRequest(url: mediaURL(mediaID: mediaID, token: token))
                request.method = .HEAD
                let response = try await connection.send(request, as: .head, deadline: deadline)
                guard response.status == .ok else { throw TransportError.httpStatus(Int(response.status.code)) }
                if let file = try Self.remoteFile(from: response) { return .file(file) }
                return try await jsonAnswer(mediaID: mediaID, token: token, deadline: deadline)
            }
        }
    }

    private func jsonAnswer(mediaID: String, token: AccessToken, deadline: NIODeadline) async throws -> RemoteMedia {
        let request = HTTPClientRequest(url: mediaURL(mediaID: mediaID, token: token))
        let response = try await connection.send(request, as: .download, deadline: deadline)
        if let file = try Self.remoteFile(from: response) {
            // The media appeared between the two requests; the caller only wanted headers.
            return .file(file)
        }
        return try await Self.nonFileAnswer(response, deadline: deadline)
    }

    // MARK: Download

    /// Streams `mediaID` into the file at `path` (created or truncated), calling `progress` with
    /// the byte count on disk after each write, so readers can be answered before the end.
    /// A video answered with a URL is returned as `.video` and nothing is written.
    public func download(
        mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void = { _ in }
    ) async throws -> RemoteMedia {
        try await retry.run(logger: logger, operation: "download") { deadline in
            try await withFreshToken { token in
                let request = HTTPClientRequest(url: mediaURL(mediaID: mediaID, token: token))
                let response = try await connection.send(request, as: .download, deadline: deadline)
                guard let file = try Self.remoteFile(from: response) else {
                    return try await Self.nonFileAnswer(response, deadline: deadline)
                }
                try await APIConnection.bounded(by: deadline) {
                    try await Self.stream(response, expected: file.size, to: path, progress: progress)
                }
                return .file(file)
            }
        }
    }

    /// Streams a video from the `video_url` the download endpoint gave (no token: the URL is signed).
    public func downloadVideo(
        from url: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void = { _ in }
    ) async throws -> RemoteFile {
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw TransportError.invalidResponse("video_url is not an http(s) URL")
        }
        return try await retry.run(logger: logger, operation: "video") { deadline in
            let response = try await connection.send(HTTPClientRequest(url: url), as: .video, deadline: deadline)
            guard response.status == .ok else { throw TransportError.httpStatus(Int(response.status.code)) }
            let length = try Self.contentLength(of: response)
            try await APIConnection.bounded(by: deadline) {
                try await Self.stream(response, expected: length, to: path, progress: progress)
            }
            let type = response.headers.first(name: "Content-Type") ?? "video/mp4"
            return RemoteFile(size: length, contentType: type, filename: "")
        }
    }

    static func stream(
        _ response: HTTPClientResponse, expected: Int64?, to path: String,
        progress: @escaping @Sendable (Int64) async -> Void
    ) async throws {
        let file = try LocalFile.openForWriting(path)
        defer { file.close() }
        var written: Int64 = 0
        do {
            for try await chunk in response.body {
                if let expected, written + Int64(chunk.readableBytes) > expected {
                    throw TransportError.invalidResponse("body longer than its Content-Length")
                }
                try file.write(chunk, at: written)
                written += Int64(chunk.readableBytes)
                await progress(written)
            }
        } catch let error as TransportError {
            throw error
        } catch let error as LocalFileError {
            throw error
        } catch {
            throw TransportError.connection("download cut off after \(written) bytes: \(error)")
        }
        if let expected, written != expected {
            throw TransportError.invalidResponse("body of \(written) bytes, Content-Length \(expected)")
        }
    }

    // MARK: Shared pieces

    /// Runs `body` with the current token; if the server refuses that token, reports it, gets a
    /// fresh one and runs `body` once more.
    func withFreshToken<T>(_ body: (AccessToken) async throws -> T) async throws -> T {
        let token = try await currentToken()
        do {
            return try await body(token)
        } catch let error as APIError where error.kind == .staleToken {
            logger.info("access token refused; fetching a new one", metadata: ["errcode": "\(error.errcode)"])
            await tokens.tokenWasRefused(token)
            return try await body(try await currentToken())
        }
    }

    /// The provider's token. A token reply it could not believe (`invalidResponse`) has had the
    /// provider's own retries already; trying the whole call again would only ask once more.
    private func currentToken() async throws -> AccessToken {
        do {
            return try await tokens.currentToken()
        } catch let error as TransportError {
            if case .invalidResponse = error { throw FinalFailure(error) }
            throw error
        }
    }

    private func mediaURL(mediaID: String, token: AccessToken) -> String {
        connection.url(
            path: "/cgi-bin/media/get",
            query: QueryString.encode([("access_token", token.value), ("media_id", mediaID)]))
    }

    /// The file a response carries, judged by `Content-disposition` as the notes advise.
    /// A file whose Content-Length cannot be true is refused, and not asked for again.
    static func remoteFile(from response: HTTPClientResponse) throws -> RemoteFile? {
        guard response.status == .ok,
            let disposition = response.headers.first(name: "Content-Disposition"),
            let filename = ContentDisposition.filename(in: disposition)
        else { return nil }
        let length = try contentLength(of: response)
        let type = response.headers.first(name: "Content-Type") ?? "application/octet-stream"
        return RemoteFile(size: length, contentType: type, filename: filename)
    }

    /// The response's `Content-Length`, if it has one it can be believed; see `ContentLength`.
    static func contentLength(of response: HTTPClientResponse) throws -> Int64? {
        do {
            return try ContentLength.parse(response.headers.first(name: "Content-Length"))
        } catch {
            throw FinalFailure(error)
        }
    }

    /// A response without a file: an API error, or a video's URL.
    static func nonFileAnswer(_ response: HTTPClientResponse, deadline: NIODeadline) async throws -> RemoteMedia {
        let reply = try await APIConnection.readReply(response, deadline: deadline)
        if let error = reply.error { throw error }
        if let url = reply.videoURL, !url.isEmpty { return .video(url: url) }
        throw TransportError.invalidResponse("a reply with neither a file nor an errcode")
    }
}
