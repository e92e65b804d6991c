import FUSEKit
import Foundation
import MediaCatalog
import WeChatMedia

#if canImport(Glibc)
import Glibc
#endif

/// The errno a user sees for each failure of the API or the rules (docs/semantics.md, "errno at close and read").
enum ErrnoMapping {
    static func errno(for error: any Error) -> Int32 {
        switch error {
        case let error as FUSEError: return error.errno
        case let violation as MediaRuleViolation:
            switch violation {
            case .tooLarge: return EFBIG
            case .unreadable: return EIO
            default: return EINVAL
            }
        case let error as APIError:
            switch error.kind {
            case .tooLarge: return EFBIG
            case .invalidMedia: return EINVAL
            case .notFound: return ENOENT
            case .auth, .staleToken: return EACCES
            case .quota: return EAGAIN
            case .libraryFull: return EDQUOT
            case .retryable, .other: return EIO
            }
        case is TransportError: return EIO
        case let error as CatalogError: return error.errno
        case let error as POSIXError: return error.code.rawValue
        case is TokenFileProvider.Failure: return EACCES
        default: return EIO
        }
    }

    /// The errno of a failed upload: as `errno(for:)`, but 40007 answers a lookup, and to an
    /// upload it is a broken server (an error dressed as a file): EIO.
    static func errnoOfUpload(for error: any Error) -> Int32 {
        (error as? APIError)?.kind == .notFound ? EIO : errno(for: error)
    }

    /// The errcode a failure carries: the server's, or the one the server would have sent for a
    /// file the rules refused before any request.
    static func errcode(of error: any Error) -> Int? {
        switch error {
        case let error as APIError: error.errcode
        case let violation as MediaRuleViolation: violation.errorCode.rawValue
        default: nil
        }
    }

    static func name(of errno: Int32) -> String {
        switch errno {
        case EFBIG: "EFBIG"
        case EINVAL: "EINVAL"
        case ENOENT: "ENOENT"
        case EACCES: "EACCES"
        case EAGAIN: "EAGAIN"
        case EIO: "EIO"
        case ENOTSUP: "ENOTSUP"
        case ENOSPC: "ENOSPC"
        case EROFS: "EROFS"
        case ETIMEDOUT: "ETIMEDOUT"
        case EEXIST: "EEXIST"
        case EDQUOT: "EDQUOT"
        case ENAMETOOLONG: "ENAMETOOLONG"
        case ENOTEMPTY: "ENOTEMPTY"
        case EBUSY: "EBUSY"
        case EPERM: "EPERM"
        case EXDEV: "EXDEV"
        case EISDIR: "EISDIR"
        case ENOTDIR: "ENOTDIR"
        case EILSEQ: "EILSEQ"
        default: "errno \(errno)"
        }
    }
}

/// A full catalog disk is ENOSPC wherever the filesystem meets it (FUSEKit answers with it).
extension CatalogError: ErrnoConvertible {
    /// A refusal the call's caller meets as an errno of the call (a name another host removed
    /// meanwhile, a folder not empty), not a failure of the catalog.
    var isRefusal: Bool {
        switch self {
        case .notThere, .folderGone, .notEmpty, .wouldCycle, .noSuchQueue, .hostRunning: true
        default: false
        }
    }

    public var errno: Int32 {
        switch self {
        case .nameTaken: EEXIST
        case .diskFull: ENOSPC
        case .unavailable, .entryGone, .malformedRow, .settingConflict: EIO
        case .notThere, .folderGone, .noSuchQueue: ENOENT
        case .notEmpty: ENOTEMPTY
        case .wouldCycle: EINVAL
        case .hostRunning: EBUSY
        }
    }
}
