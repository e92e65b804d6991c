import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A permanent material just added: its id, and for an image the URL the platform shows it at.
public struct AddedMaterial: Sendable, Equatable {
    public var mediaID: String
    public var url: String?

    public init(mediaID: String, url: String?) {
        self.mediaID = mediaID
        self.url = url
    }
}

/// What `get_material` gave: the bytes' headers, and a video's title and description (a video's
/// bytes come from its `down_url`).
public struct FetchedMaterial: Sendable, Equatable {
    public var file: RemoteFile
    public var videoTitle: String?
    public var videoDescription: String?

    public init(file: RemoteFile, videoTitle: String? = nil, videoDescription: String? = nil) {
        self.file = file
        self.videoTitle = videoTitle
        self.videoDescription = videoDescription
    }
}

/// The permanent material library and article images, under the rules of temporary media: the
/// token refreshed once when refused, transient failures retried where a second request cannot
/// do twice what the first did, and every field of every answer judged where it enters.
extension WeChatMediaClient {
    /// Permanent material follows the current docs' limits whatever the mount's profile.
    public static let materialRules = MediaRules(profile: .current)
    /// `media/uploadimg` takes a JPEG or PNG of at most 1 MB.
    public static let articleImageLimit = 1024 * 1024

    /// Adds the file at `path` to the library as `type`, checked by the material rules first.
    /// `name` is sent raw (the console shows it); a name whose extension does not fit the file's
    /// format gets the format's extension added, as the server refuses it otherwise. A video
    /// takes a `title` and `introduction`. Not sent again once it may have reached the server.
    public func addMaterial(
        fileAt path: String, as type: MediaType, name: String, title: String? = nil, introduction: String? = nil,
        progress: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws -> AddedMaterial {
        let format = try Self.materialRules.check(fileAt: path, as: type)
        let filename = Self.materialFilename(name, format: format)
        var fields: [(name: String, value: String)] = []
        if type == .video {
            fields.append(("description", try Self.videoDescription(title: title, introduction: introduction)))
        }
        return try await retry.run(logger: logger, operation: "add_material") { deadline in
            do {
                return try await withFreshToken { token in
                    let query = QueryString.encode([("access_token", token.value), ("type", type.rawValue)])
                    let reply = try await sendFile(
                        path: path, type: type, filename: filename, fields: fields,
                        url: connection.url(path: "/cgi-bin/material/add_material", query: query),
                        limit: Self.materialRules.profile.maxSize(for: type), deadline: deadline, progress: progress)
                    do {
                        return AddedMaterial(
                            mediaID: try reply.addedMediaID(),
                            url: try reply.httpURL(\.url, named: "url", required: false))
                    } catch {
                        throw FinalFailure(error)
                    }
                }
            } catch let error as TransportError where error.mayHaveReachedServer {
                throw FinalFailure(error)
            }
        }
    }

    /// Uploads an image for an article's body (`media/uploadimg`: JPEG or PNG of at most 1 MB)
    /// and returns its URL. Not sent again once it may have reached the server.
    public func uploadArticleImage(fileAt path: String, name: String) async throws -> String {
        let format = try Self.materialRules.check(fileAt: path, as: .image)
        guard format == .jpeg || format == .png else {
            throw MediaRuleViolation.formatNotAllowed(type: .image, format: format)
        }
        let filename = Self.materialFilename(name, format: format)
        return try await retry.run(logger: logger, operation: "uploadimg") { deadline in
            do {
                return try await withFreshToken { token in
                    let query = QueryString.encode([("access_token", token.value)])
                    let reply = try await sendFile(
                        path: path, type: .image, filename: filename, fields: [],
                        url: connection.url(path: "/cgi-bin/media/uploadimg", query: query),
                        limit: Self.articleImageLimit, deadline: deadline, progress: { _ in })
                    do {
                        guard let url = try reply.httpURL(\.url, named: "url", required: true) else {
                            throw TransportError.invalidResponse("uploadimg reply without url")
                        }
                        return url
                    } catch {
                        throw FinalFailure(error)
                    }
                }
            } catch let error as TransportError where error.mayHaveReachedServer {
                throw FinalFailure(error)
            }
        }
    }

    /// Streams a material's bytes into the file at `path` (created or truncated): image, voice
    /// and thumb from `get_material`, a video from the `down_url` it answers with, so the file
    /// is always the media, never the JSON.
    public func getMaterial(
        mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void = { _ in }
    ) async throws -> FetchedMaterial {
        let answer = try await retry.run(logger: logger, operation: "get_material") { deadline in
            try await withFreshToken { token in
                let response = try await sendJSON(
                    "/cgi-bin/material/get_material", token: token, body: ["media_id": mediaID], as: .material,
                    deadline: deadline)
                if let file = try Self.remoteFile(from: response) {
                    try await APIConnection.bounded(by: deadline) {
                        try await Self.stream(response, expected: file.size, to: path, progress: progress)
                    }
                    return MaterialAnswer.bytes(file)
                }
                let reply = try await materialReply(response, deadline: deadline)
                do {
                    guard let url = try reply.httpURL(\.downURL, named: "down_url", required: true) else {
                        throw TransportError.invalidResponse("get_material reply without down_url")
                    }
                    let text = try reply.videoText()
                    return MaterialAnswer.video(downURL: url, title: text.title, description: text.description)
                } catch {
                    throw FinalFailure(error)
                }
            }
        }
        switch answer {
        case .bytes(let file):
            return FetchedMaterial(file: file)
        case .video(let url, let title, let description):
            let file = try await downloadVideo(from: url, to: path, progress: progress)
            return FetchedMaterial(file: file, videoTitle: title, videoDescription: description)
        }
    }

    /// Deletes a material for good. A retry after a try that may have reached the server takes
    /// 40007 as the first try's success.
    public func deleteMaterial(mediaID: String) async throws {
        let attempts = Attempts()
        try await retry.run(logger: logger, operation: "del_material") { deadline in
            let again = attempts.next()
            do {
                try await withFreshToken { token in
                    let response = try await sendJSON(
                        "/cgi-bin/material/del_material", token: token, body: ["media_id": mediaID], as: .material,
                        deadline: deadline)
                    _ = try await materialReply(response, deadline: deadline)
                }
            } catch let error as APIError where error.kind == .notFound && again {
                return
            }
        }
    }

    /// One page of a type's listing (`batchget_material`, 1-20 items from `offset`), judged whole.
    public func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage {
        precondition((1...20).contains(count) && offset >= 0, "a page is 1-20 items from offset 0 or more")
        return try await retry.run(logger: logger, operation: "batchget_material") { deadline in
            try await withFreshToken { token in
                let response = try await sendJSON(
                    "/cgi-bin/material/batchget_material", token: token,
                    body: ["type": type.rawValue, "offset": offset, "count": count], as: .materialList,
                    deadline: deadline)
                let reply = try await materialReply(response, deadline: deadline)
                do {
                    return try reply.page(offset: offset, count: count)
                } catch {
                    throw FinalFailure(error)
                }
            }
        }
    }

    /// How many materials of each type the library holds (console-made ones included).
    public func materialCounts() async throws -> MaterialCounts {
        try await retry.run(logger: logger, operation: "get_materialcount") { deadline in
            try await withFreshToken { token in
                let query = QueryString.encode([("access_token", token.value)])
                let request = HTTPClientRequest(
                    url: connection.url(path: "/cgi-bin/material/get_materialcount", query: query))
                let response = try await connection.send(request, as: .material, deadline: deadline)
                let reply = try await materialReply(response, deadline: deadline)
                do {
                    return try reply.counts()
                } catch {
                    throw FinalFailure(error)
                }
            }
        }
    }

    // MARK: Pieces

    private enum MaterialAnswer: Sendable {
        case bytes(RemoteFile)
        case video(downURL: String, title: String, description: String)
    }

    /// Counts a call's attempts: whether this one is a retry.
    final class Attempts: Sendable {
        private let count = Mutex(0)

        func next() -> Bool {
            count.withLock { count in
                defer { count += 1 }
                return count > 0
            }
        }
    }

    /// A name the server takes: the user's, with the format's extension added when its own
    /// does not name the format.
    static func materialFilename(_ name: String, format: MediaFormat) -> String {
        let base = name.isEmpty ? "media" : name
        let ext = base.lastIndex(of: ".").map { String(base[base.index(after: $0)...]).lowercased() } ?? ""
        return MediaFormat.formats(forExtension: ext).contains(format) ? base : base + "." + format.fileExtension
    }

    /// A video's `description` field: `{"title","introduction"}` as JSON.
    static func videoDescription(title: String?, introduction: String?) throws -> String {
        let object = ["title": title ?? "", "introduction": introduction ?? ""]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private func sendFile(
        path: String, type: MediaType, filename: String, fields: [(name: String, value: String)], url: String,
        limit: Int, deadline: NIODeadline, progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> MaterialReply {
        let file = try LocalFile.openForReading(path)
        defer { file.close() }
        let size = try file.size()
        guard size <= Int64(limit) else {
            throw MediaRuleViolation.tooLarge(type: type, size: Int(clamping: size), limit: limit)
        }
        let body = MultipartFileBody(
            fileChunks: FileChunkSequence(file: file, end: size, chunkLength: Self.uploadChunkLength), fileSize: size,
            filename: filename, fields: fields, progress: progress)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: body.contentType)
        request.body = try body.requestBody()
        let response = try await connection.send(request, as: .material, deadline: deadline)
        return try await materialReply(response, deadline: deadline)
    }

    func sendJSON(
        _ path: String, token: AccessToken, body: [String: any Sendable], as kind: RequestStatistics.Kind,
        deadline: NIODeadline, atMostOnce: Bool = false
    ) async throws -> HTTPClientResponse {
        let query = QueryString.encode([("access_token", token.value)])
        var request = HTTPClientRequest(url: connection.url(path: path, query: query))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        request.body = .bytes(ByteBuffer(bytes: data))
        return try await connection.send(request, as: kind, deadline: deadline, atMostOnce: atMostOnce)
    }

    /// A JSON answer: the server's error thrown, else the material fields.
    private func materialReply(_ response: HTTPClientResponse, deadline: NIODeadline) async throws -> MaterialReply {
        try await jsonReply(response, deadline: deadline) { bytes throws(TransportError) in
            try MaterialReply.parse(bytes)
        }
    }

    /// A JSON answer: the server's error thrown, else the fields `parse` reads from it.
    func jsonReply<Reply>(
        _ response: HTTPClientResponse, deadline: NIODeadline,
        parse: (ByteBufferView) throws(TransportError) -> Reply
    ) async throws -> Reply {
        let body = try await APIConnection.readBody(response, deadline: deadline)
        let reply = try APIReply.parse(body.readableBytesView)
        if let error = reply.error { throw error }
        return try parse(body.readableBytesView)
    }
}
