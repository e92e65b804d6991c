import Foundation

/// The fleet catalog's password: from `--catalog-password-file`, else `PGPASSWORD` (libpq's
/// variable), never from argv or the URL, where `ps` would show it. Nil: the server asks none
/// (trust, or a client certificate).
enum CatalogPassword {
    static func load(file: String?) throws -> String? {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw MountPoint.Problem(description: "cannot read the catalog password file \(file)")
            }
            // The first line: a file written with `echo` ends in a newline that is no part of it.
            let value =
                String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
            guard !value.isEmpty else {
                throw MountPoint.Problem(description: "the catalog password file \(file) is empty")
            }
            return value
        }
        if let value = ProcessInfo.processInfo.environment["PGPASSWORD"], !value.isEmpty { return value }
        return nil
    }
}
