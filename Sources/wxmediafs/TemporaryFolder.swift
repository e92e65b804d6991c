import Foundation

/// The one way the command line makes a folder of its own under the system's temporary
/// directory (a demo's cache, an emulator's data): a fresh name, and only the user's (0700), since
/// what goes in it (media, a catalog, an app secret's tokens) is theirs alone.
enum TemporaryFolder {
    static func make(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "wxmediafs-\(label)-" + UUID().uuidString
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }
}
