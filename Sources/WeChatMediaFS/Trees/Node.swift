import FUSEKit
import MediaCatalog
import WeChatMedia

/// How inode numbers map to what they name: the filesystem alone knows inode numbers, the
/// catalog knows only its own ids. Fixed folders have small numbers; catalog entries are their
/// id plus an offset, so they stay the same across remounts; sidecars and `/by-id/` files live
/// in ranges of their own.
enum Node: Equatable {
    case root
    case typeFolder(MediaType)
    case byIDFolder
    case entry(Int64)
    case sidecar(Int64)
    case byID(UInt64)
    case materialRoot
    case materialFolder(MaterialFolder)
    case material(Int64)
    case materialSidecar(Int64)
    case draftsRoot
    case publishedRoot
    case draftFolder(Int64)
    case draftFile(Int64)

    static let rootInode: Inode = 1
    static let byIDFolderInode: Inode = 6
    static let materialRootInode: Inode = 7
    /// `/material/`'s folders: 8, 9, ... in `MaterialFolder`'s order.
    private static let materialFolderInodes: ClosedRange<Inode> = 8...Inode(7 + MaterialFolder.allCases.count)
    static let draftsRootInode: Inode = 13
    static let publishedRootInode: Inode = 14
    private static let entryBase: UInt64 = 1000
    private static let sidecarBase: UInt64 = 1 << 48
    private static let byIDBase: UInt64 = 1 << 49
    private static let materialBase: UInt64 = 1 << 50
    private static let materialSidecarBase: UInt64 = 1 << 51
    private static let draftFolderBase: UInt64 = 1 << 52
    private static let draftFileBase: UInt64 = 1 << 53
    /// Catalog ids that have an inode (SQLite hands out 1, 2, 3, ...: far below this).
    static let entryIDs: ClosedRange<Int64> = 1...Int64(sidecarBase - entryBase - 1)

    init?(_ inode: Inode) {
        switch inode {
        case Self.rootInode: self = .root
        case 2...5: self = .typeFolder(MediaType.allCases[Int(inode - 2)])
        case Self.byIDFolderInode: self = .byIDFolder
        case Self.entryBase..<Self.sidecarBase: self = .entry(Int64(inode - Self.entryBase))
        case Self.sidecarBase..<Self.byIDBase: self = .sidecar(Int64(inode - Self.sidecarBase))
        case Self.byIDBase..<Self.materialBase: self = .byID(inode - Self.byIDBase)
        case Self.materialRootInode: self = .materialRoot
        case Self.materialFolderInodes:
            self = .materialFolder(MaterialFolder.allCases[Int(inode - Self.materialFolderInodes.lowerBound)])
        case Self.materialBase..<Self.materialSidecarBase: self = .material(Int64(inode - Self.materialBase))
        case Self.materialSidecarBase..<Self.draftFolderBase:
            self = .materialSidecar(Int64(inode - Self.materialSidecarBase))
        case Self.draftsRootInode: self = .draftsRoot
        case Self.publishedRootInode: self = .publishedRoot
        case Self.draftFolderBase..<Self.draftFileBase: self = .draftFolder(Int64(inode - Self.draftFolderBase))
        case Self.draftFileBase..<(Self.draftFileBase << 1): self = .draftFile(Int64(inode - Self.draftFileBase))
        default: return nil
        }
    }

    var inode: Inode {
        switch self {
        case .root: Self.rootInode
        case .typeFolder(let type): 2 + UInt64(MediaType.allCases.firstIndex(of: type) ?? 0)
        case .byIDFolder: Self.byIDFolderInode
        case .entry(let id): Self.entryBase + Self.offset(id)
        case .sidecar(let id): Self.sidecarBase + Self.offset(id)
        case .byID(let number): Self.byIDBase &+ min(number, Self.materialBase - Self.byIDBase - 1)
        case .materialRoot: Self.materialRootInode
        case .materialFolder(let folder):
            Self.materialFolderInodes.lowerBound + UInt64(MaterialFolder.allCases.firstIndex(of: folder) ?? 0)
        case .material(let id): Self.materialBase + Self.offset(id)
        case .materialSidecar(let id): Self.materialSidecarBase + Self.offset(id)
        case .draftsRoot: Self.draftsRootInode
        case .publishedRoot: Self.publishedRootInode
        case .draftFolder(let id): Self.draftFolderBase + Self.offset(id)
        case .draftFile(let id): Self.draftFileBase + Self.offset(id)
        }
    }

    /// An id out of range (only a corrupt catalog has one) gets no inode of its own rather than a trap.
    private static func offset(_ id: Int64) -> UInt64 {
        Self.entryIDs.contains(id) ? UInt64(id) : 0
    }

    static func entryInode(_ id: Int64) -> Inode { Node.entry(id).inode }

    /// The inode of a catalog folder: the type folder itself, or a subfolder entry.
    static func inode(of folder: CatalogFolder) -> Inode {
        folder.isTopLevel ? Node.typeFolder(folder.type).inode : Node.entry(folder.parentID).inode
    }
}
