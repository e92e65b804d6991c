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

    /// Whether something is mounted at `path`: its device differs from its parent's, or it is a
    /// dead FUSE mount.
    static func isMounted(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        if stat(path, &own) != 0 { return errno == ENOTCONN }
        guard stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }

    static func prepare(_ path: String) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOTCONN {
                detach(path)
                guard stat(path, &info) == 0 else {
                    throw Problem(
                        description: "\(path) is a dead mount that could not be cleaned up: unmount it by hand")
                }
            } else {
                throw Problem(description: "\(path): \(String(cString: strerror(errno)))")
            }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw Problem(description: "\(path) is not a directory") }
        guard isMounted(path) else { return }
        // stat may be answered from the kernel's cache; listing the folder needs a live daemon.
        if let directory = opendir(path) {
            closedir(directory)
        } else if errno == ENOTCONN, detach(path), !isMounted(path) {
            return
        }
        throw Problem(description: "\(path) is already mounted (unmount it first: wxmediafs unmount \(path))")
    }

    /// Unmounts `path`, lazily if it is busy: umount2 as root, fusermount3 otherwise.
    @discardableResult
    static func detach(_ path: String, lazy: Bool = true) -> Bool {
        if getuid() == 0 {
            if umount2(path, 0) == 0 { return true }
            return lazy && umount2(path, Int32(MNT_DETACH)) == 0
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["fusermount3", "-u"] + (lazy ? ["-z"] : []) + [path]
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
