/// The APIs with a daily quota, by the `cgi_path` that names them in `openapi/quota/get`.
public enum MeteredAPI: String, Sendable, CaseIterable {
    case upload = "/cgi-bin/media/upload"
    case download = "/cgi-bin/media/get"
    case addMaterial = "/cgi-bin/material/add_material"
    case draftAdd = "/cgi-bin/draft/add"
    case draftGet = "/cgi-bin/draft/get"
    case draftUpdate = "/cgi-bin/draft/update"
    case draftDelete = "/cgi-bin/draft/delete"
    case draftCount = "/cgi-bin/draft/count"
    case draftBatchget = "/cgi-bin/draft/batchget"
    case publishSubmit = "/cgi-bin/freepublish/submit"
    case publishGet = "/cgi-bin/freepublish/get"
    case publishDelete = "/cgi-bin/freepublish/delete"
    case publishBatchget = "/cgi-bin/freepublish/batchget"
    case publishGetArticle = "/cgi-bin/freepublish/getarticle"

    /// The name `--daily-quota` knows it by: the path after `/cgi-bin/` (`draft/add`), and for
    /// temporary media also the older `upload` and `download`.
    public var key: String { String(rawValue.dropFirst("/cgi-bin/".count)) }

    init?(key: Substring) {
        switch key {
        case "upload": self = .upload
        case "download": self = .download
        default:
            guard let api = Self.allCases.first(where: { $0.key == key }) else { return nil }
            self = api
        }
    }

    /// A day's calls on a new account by the current docs (`wechat-api-notes.md`, "Daily quotas
    /// that matter"); temporary media follow the era of `--limits` instead (`DailyQuota`).
    /// `add_material` has no published figure: 1,000 is the emulator's assumption, not the platform's.
    var documentedDailyLimit: Int64 {
        switch self {
        case .upload: 100_000
        case .download: 200_000
        case .addMaterial: 1_000
        case .draftAdd, .draftUpdate, .draftDelete, .draftCount, .draftBatchget: 1_000
        case .draftGet: 500
        case .publishSubmit, .publishGet, .publishBatchget, .publishGetArticle: 100
        case .publishDelete: 10
        }
    }
}
