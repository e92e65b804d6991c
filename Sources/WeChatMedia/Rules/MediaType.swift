/// The four kinds of temporary media the API accepts, named as the `type` query parameter names them.
public enum MediaType: String, Sendable, CaseIterable, Codable, Hashable {
    case image
    case voice
    case video
    case thumb

    /// The JSON key under which an upload's id comes back: thumbs are the API's one exception.
    public var mediaIDKey: String {
        self == .thumb ? "thumb_media_id" : "media_id"
    }
}
