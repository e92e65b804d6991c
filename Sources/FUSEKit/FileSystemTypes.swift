#if canImport(Glibc)
import Glibc
#endif

/// An inode number as the kernel knows it; 1 is the root.
public typealias Inode = UInt64

/// The answer to a lookup, create or mkdir: the inode, its attributes and how long the kernel
/// may cache them. An entry with inode 0 is a negative entry: "no such name", cached for `entryTimeout`.
public struct Entry: Sendable, Equatable {
    public var attributes: FileAttributes?
    public var attributeTimeout: Double
    public var entryTimeout: Double

    public init(attributes: FileAttributes?, attributeTimeout: Double, entryTimeout: Double) {
        self.attributes = attributes
        self.attributeTimeout = attributeTimeout
        self.entryTimeout = entryTimeout
    }

    /// "No such name", and the kernel may remember that for `timeout` seconds.
    public static func negative(timeout: Double) -> Entry {
        Entry(attributes: nil, attributeTimeout: 0, entryTimeout: timeout)
    }
}

/// The answer to an open or create.
/// What a read answers with: bytes in memory, or a range of a local file, which the kernel gets
/// without a copy through this process.
public enum ReadData: Sendable {
    case bytes([UInt8])
    /// Up to `size` bytes of `descriptor` at `offset`; closed after the reply when `closeAfterReply`.
    case file(descriptor: Int32, offset: Int64, size: Int, closeAfterReply: Bool)
}

public struct OpenedFile: Sendable, Equatable {
    public var handle: UInt64
    /// Bypass the page cache (for files whose size is not known up front).
    public var directIO: Bool
    /// Keep cached pages from an earlier open.
    public var keepCache: Bool

    public init(handle: UInt64, directIO: Bool = false, keepCache: Bool = false) {
        self.handle = handle
        self.directIO = directIO
        self.keepCache = keepCache
    }
}

/// One name in a directory listing; `offset` is the stable cookie of the entry after it.
public struct DirectoryEntry: Sendable, Equatable {
    public var name: String
    public var attributes: FileAttributes
    public var offset: Int64
    /// How long the kernel may cache the name and attributes a listing-with-attributes gives.
    public var cacheTimeout: Double

    public init(name: String, attributes: FileAttributes, offset: Int64, cacheTimeout: Double = 1) {
        self.name = name
        self.attributes = attributes
        self.offset = offset
        self.cacheTimeout = cacheTimeout
    }
}

/// The attribute changes a setattr asks for; nil fields are left alone.
public struct AttributeChanges: Sendable, Equatable {
    public var permissions: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var size: UInt64?
    public var accessTime: timespec?
    public var modificationTime: timespec?
    /// The open file the change came through (`ftruncate`, `futimens`), if any.
    public var handle: UInt64?

    public init(
        permissions: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil,
        accessTime: timespec? = nil, modificationTime: timespec? = nil, handle: UInt64? = nil
    ) {
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.handle = handle
    }
}

/// Who made a request.
public struct Caller: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// The calling thread's id, as FUSE gives it (see `ProcessTable.process(ofThread:)`).
    public var pid: Int32

    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }
}

/// What `statfs` reports.
public struct FilesystemStatistics: Sendable, Equatable {
    public var blockSize: UInt
    public var totalBlocks: UInt64
    public var freeBlocks: UInt64
    public var totalFiles: UInt64
    public var freeFiles: UInt64
    public var maxNameLength: UInt

    public init(
        blockSize: UInt, totalBlocks: UInt64, freeBlocks: UInt64, totalFiles: UInt64, freeFiles: UInt64,
        maxNameLength: UInt
    ) {
        self.blockSize = blockSize
        self.totalBlocks = totalBlocks
        self.freeBlocks = freeBlocks
        self.totalFiles = totalFiles
        self.freeFiles = freeFiles
        self.maxNameLength = maxNameLength
    }
}

/// Flags of rename(2)'s renameat2 form.
public struct RenameFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let noReplace = RenameFlags(rawValue: 1)
    public static let exchange = RenameFlags(rawValue: 2)
}
