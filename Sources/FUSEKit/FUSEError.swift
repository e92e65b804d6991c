#if canImport(Glibc)
import Glibc
#endif

/// An error of a layer below the filesystem that knows the errno it means (a full disk is
/// ENOSPC wherever it is met): FUSEKit answers with it, and logs it once.
public protocol ErrnoConvertible: Error {
    var errno: Int32 { get }
}

/// A filesystem failure as the kernel sees it: one errno value.
public struct FUSEError: Error, Equatable, Sendable, CustomStringConvertible {
    public let errno: Int32

    public init(_ errno: Int32) { self.errno = errno }

    public static let notFound = FUSEError(ENOENT)
    public static let accessDenied = FUSEError(EACCES)
    public static let notPermitted = FUSEError(EPERM)
    public static let readOnly = FUSEError(EROFS)
    public static let exists = FUSEError(EEXIST)
    public static let notEmpty = FUSEError(ENOTEMPTY)
    public static let notDirectory = FUSEError(ENOTDIR)
    public static let isDirectory = FUSEError(EISDIR)
    public static let invalid = FUSEError(EINVAL)
    public static let io = FUSEError(EIO)
    public static let crossDevice = FUSEError(EXDEV)
    public static let tooBig = FUSEError(EFBIG)
    public static let notSupported = FUSEError(ENOTSUP)
    public static let notImplemented = FUSEError(ENOSYS)
    public static let noAttribute = FUSEError(ENODATA)
    public static let range = FUSEError(ERANGE)
    public static let badHandle = FUSEError(EBADF)
    public static let tryAgain = FUSEError(EAGAIN)
    public static let nameTooLong = FUSEError(ENAMETOOLONG)

    public var description: String { String(cString: strerror(errno)) }
}
