#if canImport(Glibc)
import Glibc
#endif

/// The attributes of one inode, as `stat` shows them.
public struct FileAttributes: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case file
        case directory
    }

    public var inode: UInt64
    public var kind: Kind
    /// Permission bits only (0o644); the kind adds the file-type bits.
    public var permissions: UInt32
    public var links: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: UInt64
    public var accessTime: timespec
    public var modificationTime: timespec
    public var changeTime: timespec

    public init(
        inode: UInt64, kind: Kind, permissions: UInt32, links: UInt32 = 1, uid: UInt32, gid: UInt32, size: UInt64,
        accessTime: timespec, modificationTime: timespec, changeTime: timespec
    ) {
        self.inode = inode
        self.kind = kind
        self.permissions = permissions
        self.links = links
        self.uid = uid
        self.gid = gid
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
    }

    public var mode: mode_t {
        mode_t(permissions & 0o7777) | (kind == .directory ? S_IFDIR : S_IFREG)
    }

    var stat: stat {
        var s = Glibc.stat()
        s.st_ino = ino_t(inode)
        s.st_mode = mode
        s.st_nlink = UInt(links)
        s.st_uid = uid
        s.st_gid = gid
        s.st_size = off_t(clamping: size)
        // Tools size their buffers by st_blksize (cp, cat: max(128 KiB, blksize)): 1 MiB reads
        // and writes are ten system calls for a 10 MiB file, whatever size the kernel splits them into.
        s.st_blksize = kind == .directory ? 4096 : 1 << 20
        s.st_blocks = blkcnt_t((size + 511) / 512)
        s.st_atim = accessTime
        s.st_mtim = modificationTime
        s.st_ctim = changeTime
        return s
    }
}

extension timespec: @retroactive Equatable {
    public static func == (lhs: timespec, rhs: timespec) -> Bool {
        lhs.tv_sec == rhs.tv_sec && lhs.tv_nsec == rhs.tv_nsec
    }

    /// Now, from the realtime clock.
    public static var now: timespec {
        var value = timespec()
        clock_gettime(CLOCK_REALTIME, &value)
        return value
    }
}

extension timespec: @retroactive @unchecked Sendable {}  // Two integers; the C import just lacks the annotation.
