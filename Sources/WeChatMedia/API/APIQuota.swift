/// One API's daily call quota, as `POST /cgi-bin/openapi/quota/get` answers it for a `cgi_path`.
public struct APIQuota: Sendable, Equatable, Codable {
    public var dailyLimit: Int64
    public var used: Int64
    public var remain: Int64

    public init(dailyLimit: Int64, used: Int64, remain: Int64) {
        self.dailyLimit = dailyLimit
        self.used = used
        self.remain = remain
    }

    /// The largest count believed: the platform's quotas are in the hundreds of thousands.
    public static let plausibleCount: ClosedRange<Int64> = 0...1_000_000_000_000
}

extension APIReply {
    /// The `quota` object of a quota reply, each of its three counts an integer in
    /// `APIQuota.plausibleCount`; anything else is refused naming the field.
    public func apiQuota() throws(TransportError) -> APIQuota {
        guard let quota else { throw .invalidResponse("quota reply without quota") }
        func count(_ field: String) throws(TransportError) -> Int64 {
            guard let value = quota[field] else { throw .invalidResponse("quota reply without quota.\(field)") }
            guard let number = value.integerValue, APIQuota.plausibleCount.contains(number) else {
                throw .invalidResponse("quota reply: quota.\(field) \(value) is not a count")
            }
            return number
        }
        return APIQuota(dailyLimit: try count("daily_limit"), used: try count("used"), remain: try count("remain"))
    }
}
