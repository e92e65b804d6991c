/// An error the server answered with (`{"errcode":N,"errmsg":"..."}`), keyed on errcode alone.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What a caller can do about an error; decides retries and the errno a filesystem reports.
    public enum Kind: String, Sendable, Equatable {
        /// Busy or failing server: try again after a pause.
        case retryable
        /// The token was refused: fetch a new one and retry once.
        case staleToken
        /// Credentials or the caller's IP are refused: retrying cannot help.
        case auth
        /// Unknown or expired media id.
        case notFound
        /// Over the type's size limit.
        case tooLarge
        /// Wrong format, too long, empty or missing data.
        case invalidMedia
        /// Daily or per-minute quota exhausted: back off.
        case quota
        /// The permanent library of that type is full (45034): only a delete makes room.
        case libraryFull
        /// Anything else (a request this client should not have made).
        case other
    }

    public let errcode: Int
    public let errmsg: String

    public init(errcode: Int, errmsg: String) {
        self.errcode = errcode
        self.errmsg = errmsg
    }

    public init(_ code: WeChatErrorCode) {
        self.init(errcode: code.rawValue, errmsg: code.message)
    }

    public var code: WeChatErrorCode? { WeChatErrorCode(rawValue: errcode) }

    public var kind: Kind {
        guard let code else { return errcode < 0 ? .retryable : .other }
        switch code {
        case .systemBusy: return .retryable
        case .invalidCredential, .invalidAccessToken, .accessTokenExpired: return .staleToken
        case .invalidAppID, .invalidAppSecret, .invalidIP, .accessTokenMissing, .appIDMissing, .appSecretMissing,
            .invalidGrantType, .appSecretFrozen, .clientIPNotRegistered:
            return .auth
        case .invalidMediaID: return .notFound
        case .invalidFileSize, .invalidImageSize, .invalidVoiceSize, .invalidVideoSize, .invalidThumbSize,
            .mediaSizeOutOfLimit, .contentSizeOutOfLimit:
            return .tooLarge
        case .invalidMediaType, .invalidFileType, .mediaDataMissing, .emptyMediaData, .voicePlaytimeOutOfLimit:
            return .invalidMedia
        // An article the platform will not take as it is: the user must change it.
        case .emptyNewsData, .titleSizeOutOfLimit, .descriptionSizeOutOfLimit, .urlSizeOutOfLimit,
            .articleSizeOutOfLimit, .argumentOutOfLengthLimit:
            return .invalidMedia
        case .dailyQuotaExceeded, .minuteQuotaExceeded: return .quota
        case .materialCountOutOfLimit: return .libraryFull
        case .mediaIDMissing, .requirePOST, .dataFormatError, .cgiPathNotFound, .cgiPathNoPermission,
            .draftFailedPublishCheck:
            return .other
        }
    }

    public var description: String { "errcode \(errcode): \(errmsg)" }
}
