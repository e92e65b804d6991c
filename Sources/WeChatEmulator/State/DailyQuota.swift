import WeChatMedia

/// How many calls a day the metered APIs take before answering 45009. The notes give the
/// platform's: 100,000 uploads and 200,000 downloads a day now, 5,000 and 10,000 in the seed's time.
public struct DailyQuota: Sendable, Equatable {
    public var upload: Int64
    public var download: Int64

    public init(upload: Int64, download: Int64) {
        self.upload = upload
        self.download = download
    }

    /// The documented quota of the era `profile` follows.
    public static func documented(for profile: LimitsProfile) -> DailyQuota {
        switch profile {
        case .seed: DailyQuota(upload: 5_000, download: 10_000)
        case .current: DailyQuota(upload: 100_000, download: 200_000)
        }
    }

    /// `N` (uploads and downloads alike) or `upload=N,download=M` (either may be left out, then
    /// it is `base`'s); nil for anything else. Counts are 0 to 10^12.
    public init?(parsing text: String, base: DailyQuota) {
        func count(_ text: Substring) -> Int64? {
            guard let value = Int64(text), (0...1_000_000_000_000).contains(value) else { return nil }
            return value
        }
        if let both = count(Substring(text)) {
            self.init(upload: both, download: both)
            return
        }
        var quota = base
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = count(pair[1]) else { return nil }
            switch pair[0] {
            case "upload": quota.upload = value
            case "download": quota.download = value
            default: return nil
            }
        }
        self = quota
    }
}
