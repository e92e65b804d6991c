import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Asking whether a path is a mountpoint, and detaching one, for root and for everyone else.
public enum MountTable {
    /// Whether something is mounted at `path`: its device differs from its parent's, or it is a
    /// dead FUSE mount. (Reading /proc/self/mounts can miss lines while other mounts change.)
    public static func isMounted(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        if stat(path, &own) != 0 { return errno == ENOTCONN }
        guard stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }

    /// Unmounts `path`, detaching it lazily if it is busy and `lazy` allows: umount2 as root,
    /// the setuid fusermount3 otherwise.
    @discardableResult
    public static func detach(_ path: String, lazy: Bool) -> Bool {
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
