import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The cache dir (catalog, cached media, spool, log, status socket): created 0700 with its
/// parents, and checked to be a folder this user can write, with the reason in words when not
/// ("cache dir /mnt/ro/wx: Read-only file system"), never a Foundation error code.
enum CacheDirectory {
    static func prepare(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else { throw problem(path, "not a directory") }
        } else {
            try createWithParents(path)
        }
        // Writable: a probe file, since access(2) says nothing of a read-only mount for root.
        let probe = path + "/.wxmediafs-probe-\(getpid())"
        let descriptor = open(probe, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw problem(path, String(cString: strerror(errno))) }
        close(descriptor)
        unlink(probe)
    }

    private static func createWithParents(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw problem(path, "\(String(cString: strerror(errno))) (creating \(prefix))")
            }
        }
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw problem(path, "not a directory") }
    }

    private static func problem(_ path: String, _ reason: String) -> MountPoint.Problem {
        MountPoint.Problem(description: "cache dir \(path): \(reason)")
    }
}
