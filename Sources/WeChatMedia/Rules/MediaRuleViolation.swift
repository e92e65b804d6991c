/// Why a file is not acceptable media, with the errcode and errmsg the server gives for it.
public enum MediaRuleViolation: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLarge(type: MediaType, size: Int, limit: Int)
    case unrecognizedFormat(type: MediaType)
    case formatNotAllowed(type: MediaType, format: MediaFormat)
    case malformed(format: MediaFormat, detail: String)
    case tooLong(milliseconds: Int, limit: Int)
    /// The file could not be read at all (a local problem, not the media's).
    case unreadable(String)

    public var errorCode: WeChatErrorCode {
        switch self {
        case .empty: .emptyMediaData
        case .tooLarge(let type, _, _):
            switch type {
            case .image: .invalidImageSize
            case .voice: .invalidVoiceSize
            case .video: .invalidVideoSize
            case .thumb: .invalidThumbSize
            }
        case .unrecognizedFormat, .formatNotAllowed, .malformed: .invalidFileType
        case .tooLong: .voicePlaytimeOutOfLimit
        case .unreadable: .mediaDataMissing
        }
    }

    public var description: String {
        switch self {
        case .empty: "the file is empty"
        case .tooLarge(let type, let size, let limit):
            "\(size) bytes is over the \(limit)-byte limit for \(type.rawValue)"
        case .unrecognizedFormat(let type): "the content is not a format accepted for \(type.rawValue)"
        case .formatNotAllowed(let type, let format): "\(format.rawValue) is not accepted for \(type.rawValue)"
        case .malformed(let format, let detail): "the \(format.rawValue) data is malformed or truncated (\(detail))"
        case .tooLong(let ms, let limit): "voice plays \(Double(ms) / 1000) s, over the \(limit / 1000) s limit"
        case .unreadable(let reason): "the file cannot be read: \(reason)"
        }
    }
}
