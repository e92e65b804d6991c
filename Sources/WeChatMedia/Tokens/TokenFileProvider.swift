import Foundation

/// Tokens managed by another process (a central token service, a cron job) and written to a file:
/// the first non-empty line is the token. The file is read again after the server refuses a token.
public actor TokenFileProvider: AccessTokenProvider {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unreadable(path: String)
        case empty(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path): "cannot read the access-token file \(path)"
            case .empty(let path): "the access-token file \(path) holds no token"
            }
        }
    }

    /// Ages are told up to about a century; past that, the number means nothing anyway.
    private static let longestAge: TimeInterval = 100 * 365 * 86400

    private let path: String
    private var cached: AccessToken?

    public init(path: String) { self.path = path }

    public func currentToken() throws -> AccessToken {
        if let cached { return cached }
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure.unreadable(path: path) }
        let line = String(decoding: data, as: UTF8.self)
            .split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty }
        guard let line else { throw Failure.empty(path: path) }
        let token = AccessToken(value: line, refreshAfter: nil)
        cached = token
        return token
    }

    public func tokenWasRefused(_ token: AccessToken) {
        if cached == token { cached = nil }
    }

    /// The age of the token file: whoever writes it refreshes the token.
    public func tokenAge() -> Duration? {
        guard let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
        else { return nil }
        // A file time far in the past (touch -d @-99999999999) must not overflow the conversion.
        let seconds = min(max(0, Date().timeIntervalSince(modified)), Self.longestAge)
        return .milliseconds(Int64(seconds * 1000))
    }
}
