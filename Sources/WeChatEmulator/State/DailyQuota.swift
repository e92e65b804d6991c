import WeChatMedia

/// How many calls a day each metered API takes before answering 45009. The notes give the
/// platform's: 100,000 uploads and 200,000 downloads a day now, 5,000 and 10,000 in the seed's
/// time; the draft and publishing APIs' figures are the current page's (see `MeteredAPI`).
public struct DailyQuota: Sendable, Equatable {
    public var limits: [MeteredAPI: Int64]

    /// Temporary media as given, every other API at its documented figure.
    public init(upload: Int64, download: Int64) {
        limits = Dictionary(uniqueKeysWithValues: MeteredAPI.allCases.map { ($0, $0.documentedDailyLimit) })
        limits[.upload] = upload
        limits[.download] = download
    }

    public var upload: Int64 {
        get { self[.upload] }
        set { self[.upload] = newValue }
    }

    public var download: Int64 {
        get { self[.download] }
        set { self[.download] = newValue }
    }

    public subscript(api: MeteredAPI) -> Int64 {
        get { limits[api] ?? api.documentedDailyLimit }
        set { limits[api] = newValue }
    }

    /// The documented quota of the era `profile` follows.
    public static func documented(for profile: LimitsProfile) -> DailyQuota {
        switch profile {
        case .seed: DailyQuota(upload: 5_000, download: 10_000)
        case .current: DailyQuota(upload: 100_000, download: 200_000)
        }
    }

    /// `N` (uploads and downloads alike) or `KEY=N,...` with a `MeteredAPI.key` (`upload`,
    /// `download`, `draft/add`, `freepublish/submit`, `material/add_material`, ...); what is left
    /// out is `base`'s. Nil for anything else. Counts are 0 to 10^12.
    public init?(parsing text: String, base: DailyQuota) {
        func count(_ text: Substring) -> Int64? {
            guard let value = Int64(text), (0...1_000_000_000_000).contains(value) else { return nil }
            return value
        }
        var quota = base
        if let both = count(Substring(text)) {
            quota.upload = both
            quota.download = both
            self = quota
            return
        }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let api = MeteredAPI(key: pair[0]), let value = count(pair[1]) else { return nil }
            quota[api] = value
        }
        self = quota
    }
}
