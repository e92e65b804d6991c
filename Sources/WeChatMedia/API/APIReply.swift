import Foundation

/// Every JSON body the token and media endpoints send, success or error: the fields are optional
/// because one shape serves them all. Fields whose values feed arithmetic, paths or URLs are kept
/// as the server sent them (`JSONScalar`) and judged by the accessors below, which refuse an
/// implausible value with `TransportError.invalidResponse` naming the field: nothing a server
/// sends can make this process trap later.
public struct APIReply: Decodable, Sendable {
    /// nil when absent (or null); `parse` refuses a present errcode that is not an integer.
    public var errcode: Int?
    public var errmsg: String?
    public var accessToken: String?
    public var expiresIn: JSONScalar?
    public var type: String?
    public var mediaID: JSONScalar?
    public var thumbMediaID: JSONScalar?
    public var createdAt: JSONScalar?
    public var videoURL: String?
    /// `openapi/quota/get`'s `{"daily_limit","used","remain"}`, judged by `apiQuota()`.
    public var quota: [String: JSONScalar]?
    /// The errcode as sent, when it is not an integer (a fraction, a word, past 64 bits).
    var unreadableErrcode: JSONScalar?

    enum CodingKeys: String, CodingKey {
        case errcode, errmsg, type
        case accessToken = "access_token"
        case expiresIn = "expires_in"
        case mediaID = "media_id"
        case thumbMediaID = "thumb_media_id"
        case createdAt = "created_at"
        case videoURL = "video_url"
        case quota
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let code = try? c.decodeIfPresent(JSONScalar.self, forKey: .errcode) {
            // Accepted as a number or a numeric string, as servers send both.
            if let value = code.integerValue ?? Self.signedInteger(code) {
                errcode = Int(exactly: value)
            }
            if errcode == nil { unreadableErrcode = code }
        }
        errmsg = try? c.decodeIfPresent(String.self, forKey: .errmsg)
        accessToken = try? c.decodeIfPresent(String.self, forKey: .accessToken)
        expiresIn = try? c.decodeIfPresent(JSONScalar.self, forKey: .expiresIn)
        type = try? c.decodeIfPresent(String.self, forKey: .type)
        mediaID = try? c.decodeIfPresent(JSONScalar.self, forKey: .mediaID)
        thumbMediaID = try? c.decodeIfPresent(JSONScalar.self, forKey: .thumbMediaID)
        createdAt = try? c.decodeIfPresent(JSONScalar.self, forKey: .createdAt)
        videoURL = try? c.decodeIfPresent(String.self, forKey: .videoURL)
        quota = try? c.decodeIfPresent([String: JSONScalar].self, forKey: .quota)
    }

    /// `"-1"`: errcode -1 is the one negative code, and some servers quote it.
    private static func signedInteger(_ value: JSONScalar) -> Int64? {
        guard case .text(let text) = value, text.hasPrefix("-") else { return nil }
        return JSONScalar.text(String(text.dropFirst())).integerValue.map { -$0 }
    }

    /// Parses a body, or throws `TransportError.invalidResponse` when it is not a JSON object or
    /// its errcode cannot be read (an unreadable errcode is not a success).
    public static func parse(_ bytes: some Collection<UInt8>) throws(TransportError) -> APIReply {
        let reply: APIReply
        do {
            reply = try JSONDecoder().decode(APIReply.self, from: Data(bytes))
        } catch {
            let preview = String(decoding: bytes.prefix(80), as: UTF8.self)
            throw .invalidResponse("not the API's JSON: \(Redaction.redact(preview))")
        }
        if let code = reply.unreadableErrcode {
            throw .invalidResponse("errcode \(code) is not an integer")
        }
        return reply
    }

    /// The server's error, if this reply is one (`errcode` present and not 0).
    public var error: APIError? {
        guard let errcode, errcode != 0 else { return nil }
        return APIError(errcode: errcode, errmsg: errmsg ?? "")
    }

    // MARK: Fields judged where they enter

    /// Longest media id accepted from the server (real ones have 64 characters).
    public static let maxMediaIDLength = 128

    /// The media id of an upload reply: `thumb_media_id` for thumbs (falling back to `media_id`),
    /// `media_id` for the rest (falling back to `thumb_media_id`). It must be an opaque id of
    /// `[A-Za-z0-9_-]`, 1-128 characters: it becomes a file name, a cache path and a URL later.
    public func uploadedMediaID(for mediaType: MediaType) throws(TransportError) -> String {
        let candidates: [(field: String, value: JSONScalar?)] =
            mediaType == .thumb
            ? [("thumb_media_id", thumbMediaID), ("media_id", mediaID)]
            : [("media_id", mediaID), ("thumb_media_id", thumbMediaID)]
        guard let present = candidates.lazy.compactMap({ c in c.value.map { (field: c.field, value: $0) } }).first
        else {
            throw .invalidResponse("upload reply without \(candidates[0].field)")
        }
        let (field, value) = present
        guard case .text(let id) = value, OpaqueID.isWellFormed(id, maxLength: Self.maxMediaIDLength) else {
            throw .invalidResponse(
                "upload reply: \(field) \(value) is not an id of 1-\(Self.maxMediaIDLength) characters [A-Za-z0-9_-]")
        }
        return id
    }

    /// The `created_at` of an upload reply, in Unix seconds: an integer (or a string of decimal
    /// digits) within `ServerTime.plausibleRange`.
    public func uploadCreatedAt() throws(TransportError) -> Int64 {
        guard let createdAt else { throw .invalidResponse("upload reply without created_at") }
        guard let seconds = createdAt.integerValue, ServerTime.isPlausible(seconds) else {
            throw .invalidResponse(
                "upload reply: created_at \(createdAt) is not Unix seconds in \(ServerTime.plausibleRangeDescription)")
        }
        return seconds
    }

    /// A token's lifetime the server may state: up to a week (the platform says 7200 s; the
    /// bound keeps every sum made with it far from overflow).
    public static let plausibleTokenLifetime: ClosedRange<Int64> = 1...(7 * 86400)

    /// What the platform answers when a token reply leaves `expires_in` out.
    public static let defaultTokenLifetime: Int64 = 7200

    /// The `expires_in` of a token reply in seconds: a JSON integer in `plausibleTokenLifetime`,
    /// or `defaultTokenLifetime` when absent. A string, a fraction or a value out of range is refused.
    public func tokenLifetimeSeconds() throws(TransportError) -> Int64 {
        guard let expiresIn else { return Self.defaultTokenLifetime }
        guard case .integer(let seconds) = expiresIn, Self.plausibleTokenLifetime.contains(seconds) else {
            throw .invalidResponse(
                "token reply: expires_in \(expiresIn) is not a whole number of seconds in "
                    + "\(Self.plausibleTokenLifetime.lowerBound)...\(Self.plausibleTokenLifetime.upperBound)")
        }
        return seconds
    }
}
