/// What the download endpoint says about a media id.
public enum RemoteMedia: Sendable, Equatable {
    /// A downloadable file, as its headers describe it.
    case file(RemoteFile)
    /// A video, which the endpoint answers with a URL instead of bytes (current API only).
    case video(url: String)
}

/// The headers of a downloadable media file.
public struct RemoteFile: Sendable, Equatable {
    public var size: Int64?
    public var contentType: String
    /// The filename of `Content-disposition`, reduced to its last path component.
    public var filename: String

    public init(size: Int64?, contentType: String, filename: String) {
        self.size = size
        self.contentType = contentType
        self.filename = filename
    }
}

/// A successful upload.
public struct UploadedMedia: Sendable, Equatable {
    public var mediaID: String
    public var type: MediaType
    /// The server's timestamp (seconds since 1970); the media expire 3 days after it.
    public var createdAt: Int64
    public var format: MediaFormat
    public var size: Int64

    public init(mediaID: String, type: MediaType, createdAt: Int64, format: MediaFormat, size: Int64) {
        self.mediaID = mediaID
        self.type = type
        self.createdAt = createdAt
        self.format = format
        self.size = size
    }
}
