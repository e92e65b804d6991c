import Foundation

/// Every JSON body the token and media endpoints send, success or error: the fields are optional
/// because one shape serves them all, and `errcode` is accepted as a number or a numeric string.
public struct APIReply: Decodable, Sendable {
    public var errcode: Int?
    public var errmsg: String?
    public var accessToken: String?
    public var expiresIn: Int?
    public var type: String?
    public var mediaID: String?
    public var thumbMediaID: String?
    public var createdAt: Int64?
    public var videoURL: String?

    enum CodingKeys: String, CodingKey {
        case errcode, errmsg, type
        case accessToken = "access_token"
        case expiresIn = "expires_in"
        case mediaID = "media_id"
        case thumbMediaID = "thumb_media_id"
        case createdAt = "created_at"
        case videoURL = "video_url"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let number = try? c.decodeIfPresent(Int.self, forKey: .errcode) {
            errcode = number
        } else if let text = try? c.decodeIfPresent(String.self, forKey: .errcode) {
            errcode = Int(text)
        }
        errmsg = try? c.decodeIfPresent(String.self, forKey: .errmsg)
        accessToken = try? c.decodeIfPresent(String.self, forKey: .accessToken)
        expiresIn = try? c.decodeIfPresent(Int.self, forKey: .expiresIn)
        type = try? c.decodeIfPresent(String.self, forKey: .type)
        mediaID = try? c.decodeIfPresent(String.self, forKey: .mediaID)
        thumbMediaID = try? c.decodeIfPresent(String.self, forKey: .thumbMediaID)
        if let number = try? c.decodeIfPresent(Int64.self, forKey: .createdAt) {
            createdAt = number
        } else if let text = try? c.decodeIfPresent(String.self, forKey: .createdAt) {
            createdAt = Int64(text)
        }
        videoURL = try? c.decodeIfPresent(String.self, forKey: .videoURL)
    }

    /// Parses a body, or throws `TransportError.invalidResponse` when it is not a JSON object.
    public static func parse(_ bytes: some Collection<UInt8>) throws(TransportError) -> APIReply {
        do {
            return try JSONDecoder().decode(APIReply.self, from: Data(bytes))
        } catch {
            let preview = String(decoding: bytes.prefix(80), as: UTF8.self)
            throw .invalidResponse("not the API's JSON: \(Redaction.redact(preview))")
        }
    }

    /// The server's error, if this reply is one (`errcode` present and not 0).
    public var error: APIError? {
        guard let errcode, errcode != 0 else { return nil }
        return APIError(errcode: errcode, errmsg: errmsg ?? "")
    }
}
