import Foundation
import WeChatMedia

/// Reads a secret from a file or the environment, never from argv (it would show in `ps`).
enum SecretSource {
    enum Failure: Error, CustomStringConvertible {
        case unreadable(String)
        case empty(String)

        var description: String {
            switch self {
            case .unreadable(let path): "cannot read the secret file \(path)"
            case .empty(let origin): "the secret in \(origin) is empty"
            }
        }
    }

    static let environmentVariable = "WXMEDIAFS_SECRET"

    static func load(file: String?) throws -> Secret? {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw Failure.unreadable(file) }
            let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw Failure.empty(file) }
            return Secret(value)
        }
        if let value = ProcessInfo.processInfo.environment[environmentVariable], !value.isEmpty {
            return Secret(value)
        }
        return nil
    }
}
