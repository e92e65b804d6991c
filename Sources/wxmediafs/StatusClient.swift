import Foundation
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// Finds a mount's status socket (the root's `user.wechat.status_socket` attribute) and reads its answer.
enum StatusClient {
    /// The answer of the mount's status socket, or of the socket `socketName` beside it (`sync.sock`).
    static func fetch(mountpoint: String, socketName: String? = nil) throws -> [UInt8] {
        var path = try statusSocketPath(mountpoint: mountpoint)
        if let socketName { path = (path as NSString).deletingLastPathComponent + "/" + socketName }
        var buffer = [UInt8](repeating: 0, count: 4096)
        guard let address = UnixSocketAddress(path: path) else {
            throw MountPoint.Problem(description: "bad socket path \(path)")
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw MountPoint.Problem(description: "socket: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let connected = address.withSocketAddress { connect(descriptor, $0, $1) }
        guard connected == 0 else {
            throw MountPoint.Problem(
                description: "cannot reach the mount at \(path): \(String(cString: strerror(errno)))")
        }
        var document: [UInt8] = []
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw MountPoint.Problem(description: "reading the status: \(String(cString: strerror(errno)))")
            }
            if count == 0 { return document }
            document += buffer.prefix(count)
        }
    }
}

extension StatusClient {
    /// The mount's status socket, in its cache dir (the root's `user.wechat.status_socket`).
    /// `path` may be the mountpoint or any folder inside the mount.
    static func statusSocketPath(mountpoint path: String) throws -> String {
        let root = try mountRoot(containing: path)
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes {
            systemGetxattr(root, MountStatus.socketAttribute, $0.baseAddress, $0.count)
        }
        guard length > 0 else {
            throw MountPoint.Problem(
                description:
                    "\(path) is not a running wxmediafs mount, nor in one (\(String(cString: strerror(errno))))")
        }
        return String(decoding: buffer.prefix(length), as: UTF8.self)
    }

    /// The top of the filesystem holding `path`: its parent folders upwards while they are on
    /// the same device.
    static func mountRoot(containing path: String) throws -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw MountPoint.Problem(description: "\(path): \(String(cString: strerror(errno)))")
        }
        var root = MountPoint.absolute(path)
        while root != "/" {
            let parent = (root as NSString).deletingLastPathComponent
            var above = stat()
            guard stat(parent, &above) == 0, above.st_dev == info.st_dev else { break }
            root = parent
        }
        return root
    }
}

// <sys/xattr.h>, which Glibc's module does not export.
@_silgen_name("setxattr")
func systemSetxattr(
    _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32
) -> Int32

@_silgen_name("getxattr")
private func systemGetxattr(
    _ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int
) -> Int
