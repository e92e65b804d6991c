/// The API endpoints, for counting requests and aiming faults.
public enum EmulatorEndpoint: String, Sendable, Codable, CaseIterable {
    case token
    case stableToken = "stable_token"
    case upload
    case get
    case head
    case video
    case quota
}
