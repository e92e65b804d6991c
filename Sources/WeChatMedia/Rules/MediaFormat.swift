/// A container format recognised by its leading bytes.
public enum MediaFormat: String, Sendable, CaseIterable, Codable, Hashable {
    case jpeg
    case png
    case gif
    case mp3
    case amr
    case amrWideband = "amr-wb"
    case mp4

    /// The extension the API expects on the multipart filename.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        case .gif: "gif"
        case .mp3: "mp3"
        case .amr, .amrWideband: "amr"
        case .mp4: "mp4"
        }
    }

    /// The Content-Type the download endpoint answers with.
    public var contentType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .gif: "image/gif"
        case .mp3: "audio/mpeg"
        case .amr, .amrWideband: "audio/amr"
        case .mp4: "video/mp4"
        }
    }

    /// The formats whose extension is `ext` (case-insensitive); `jpeg` and `jpg` are the same.
    public static func formats(forExtension ext: String) -> [MediaFormat] {
        switch ext.lowercased() {
        case "jpg", "jpeg": [.jpeg]
        case "png": [.png]
        case "gif": [.gif]
        case "mp3": [.mp3]
        case "amr": [.amr, .amrWideband]
        case "mp4": [.mp4]
        default: []
        }
    }
}
