/// The platform's global return codes that the token and media endpoints use, with the errmsg
/// text the server sends (before its ` hint: [...]` suffix).
public enum WeChatErrorCode: Int, Sendable, CaseIterable, Codable {
    case systemBusy = -1
    case invalidCredential = 40001
    case invalidGrantType = 40002
    case invalidMediaType = 40004
    case invalidFileType = 40005
    case invalidFileSize = 40006
    case invalidMediaID = 40007
    case invalidImageSize = 40009
    case invalidVoiceSize = 40010
    case invalidVideoSize = 40011
    case invalidThumbSize = 40012
    case invalidAppID = 40013
    case invalidAccessToken = 40014
    case invalidAppSecret = 40125
    case invalidIP = 40164
    /// The AppSecret was frozen in the platform's console; no token is issued until it is unfrozen.
    case appSecretFrozen = 40243
    case accessTokenMissing = 41001
    case appIDMissing = 41002
    case appSecretMissing = 41004
    case mediaDataMissing = 41005
    case mediaIDMissing = 41006
    case accessTokenExpired = 42001
    case requirePOST = 43002
    case emptyMediaData = 44001
    /// `draft/add`: no articles, articles wrongly wrapped, or an article without title or content.
    case emptyNewsData = 44003
    case mediaSizeOutOfLimit = 45001
    /// An article's `content`: 20,000 characters or more, or 1 MB or more.
    case contentSizeOutOfLimit = 45002
    /// An article's `title`: more than 32 characters.
    case titleSizeOutOfLimit = 45003
    /// An article's `digest`: more than 128 characters.
    case descriptionSizeOutOfLimit = 45004
    /// An article's `content_source_url`: too long.
    case urlSizeOutOfLimit = 45005
    case voicePlaytimeOutOfLimit = 45007
    /// More than 8 articles in one draft.
    case articleSizeOutOfLimit = 45008
    case dailyQuotaExceeded = 45009
    case minuteQuotaExceeded = 45011
    /// A field longer than the platform takes that has no code of its own (an article's `author`).
    case argumentOutOfLengthLimit = 45021
    /// The permanent library of that type is full (images 100,000; voice and video 1,000 each).
    case materialCountOutOfLimit = 45034
    case dataFormatError = 47001
    /// The current docs' code for a caller IP outside the whitelist (beside the older 40164).
    case clientIPNotRegistered = 61004
    /// `openapi/quota/get`: no such `cgi_path`.
    case cgiPathNotFound = 76021
    /// `openapi/quota/get`: a `cgi_path` this account may not ask about.
    case cgiPathNoPermission = 76022
    /// `freepublish/submit`: the draft did not pass the publish check (the emulator: it is being
    /// published already).
    case draftFailedPublishCheck = 53503

    public var message: String {
        switch self {
        case .systemBusy: "system error"
        case .invalidCredential: "invalid credential, access_token is invalid or not latest"
        case .invalidGrantType: "invalid grant_type"
        case .invalidMediaType: "invalid media type"
        case .invalidFileType: "invalid file type"
        case .invalidFileSize: "invalid file size"
        case .invalidMediaID: "invalid media_id"
        case .invalidImageSize: "invalid image size"
        case .invalidVoiceSize: "invalid voice size"
        case .invalidVideoSize: "invalid video size"
        case .invalidThumbSize: "invalid thumb size"
        case .invalidAppID: "invalid appid"
        case .invalidAccessToken: "invalid access_token"
        case .invalidAppSecret: "invalid appsecret"
        case .invalidIP: "invalid ip, not in whitelist"
        // The docs give this one in Chinese only ("AppSecret已被冻结，请登录MP解冻后再次调用"); clients
        // key on the errcode, so the emulator's English rendering is only for people reading logs.
        case .appSecretFrozen: "appsecret is frozen, unfreeze it on mp.weixin.qq.com and call again"
        case .accessTokenMissing: "access_token missing"
        case .appIDMissing: "appid missing"
        case .appSecretMissing: "appsecret missing"
        case .mediaDataMissing: "media data missing"
        case .mediaIDMissing: "media_id missing"
        case .accessTokenExpired: "access_token expired"
        case .requirePOST: "require POST method"
        case .emptyMediaData: "empty media data"
        case .emptyNewsData: "empty news data"
        case .mediaSizeOutOfLimit: "media size out of limit"
        case .contentSizeOutOfLimit: "content size out of limit"
        case .titleSizeOutOfLimit: "title size out of limit"
        case .descriptionSizeOutOfLimit: "description size out of limit"
        case .urlSizeOutOfLimit: "url size out of limit"
        case .articleSizeOutOfLimit: "article size out of limit"
        case .argumentOutOfLengthLimit: "some argument may be out of length limit"
        case .voicePlaytimeOutOfLimit: "voice playtime out of limit"
        case .dailyQuotaExceeded: "reach max api daily quota limit"
        case .minuteQuotaExceeded: "api minute-quota reach limit"
        case .materialCountOutOfLimit: "media file count is out of limit"
        case .dataFormatError: "data format error"
        case .clientIPNotRegistered: "access clientip is not registered"
        case .cgiPathNotFound: "cgi_path not found, please check"
        case .cgiPathNoPermission: "could not use this cgi_path, no permission"
        // The docs give it in Chinese only (该草稿未通过发布检查).
        case .draftFailedPublishCheck: "the draft did not pass the publish check"
        }
    }

    /// What the user can do about it, where that is not obvious from the errmsg: said in the log
    /// line and in `wxmediafs status` beside the errcode.
    public var advice: String? {
        switch self {
        case .invalidIP, .clientIPNotRegistered:
            "add this machine's public IP to the API IP whitelist in the platform's console "
                + "(mp.weixin.qq.com: Settings and Development > Basic Configuration), then try again"
        case .appSecretFrozen:
            "the AppSecret is frozen: unfreeze it in the platform's console "
                + "(mp.weixin.qq.com: Settings and Development > Basic Configuration), then try again"
        case .invalidAppSecret:
            "check the secret file: it does not hold this app id's current AppSecret"
        default: nil
        }
    }
}
