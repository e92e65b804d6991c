import FUSEKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Checks and cleans a mountpoint before mounting: a mount left dead by a crashed run
/// ("Transport endpoint is not connected") is detached; one still in use is an error.
enum MountPoint {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func absolute(_ path: String) -> String {
        let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        return url.standardizedFileURL.path
    }

    static func prepare(_ path: String) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOTCONN {
                MountTable.detach(path, lazy: true)
                guard stat(path, &info) == 0 else {
                    throw Problem(
                        description: "\(path) is a dead mount that could not be cleaned up: unmount it by hand")
                }
            } else {
                throw Problem(description: "\(path): \(String(cString: strerror(errno)))")
            }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Problem(description: "\(path) is not a directory") }
        guard MountTable.isMounted(path) else { return }
        // stat may be answered from the kernel's cache; listing the folder needs a live daemon.
        if let directory = opendir(path) {
            closedir(directory)
        } else if errno == ENOTCONN, MountTable.detach(path, lazy: true), !MountTable.isMounted(path) {
            return
        }
        throw Problem(description: "\(path) is already mounted (unmount it first: wxmediafs unmount \(path))")
    }
}
