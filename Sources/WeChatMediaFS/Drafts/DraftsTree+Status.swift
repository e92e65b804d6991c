import Foundation
import MediaCatalog

/// What `wxmediafs status` and `wxmediafs sync` say of article folders.
extension DraftsTree {
    /// Each folder that is not simply built, with what it waits for or why it failed.
    func statusLines() async -> [MountStatus.Draft] {
        var lines: [MountStatus.Draft] = []
        for location in DraftFolder.Location.allCases {
            for folder in (try? await catalog.draftFolders(in: location)) ?? []
            where folder.state != .built && folder.state != .published {
                let reason: String? =
                    switch folder.state {
                    case .built, .published: nil
                    case .waiting:
                        folder.waitingFor.map { "waiting for " + $0.split(separator: "\n").joined(separator: ", ") }
                    case .building: "built once the folder is left alone"
                    case .failed, .publishFailed: folder.error
                    case .publishing: folder.publishID.map { "publish_id \($0)" }
                    }
                lines.append(
                    MountStatus.Draft(path: Self.displayPath(of: folder), state: folder.state.rawValue, reason: reason))
            }
        }
        return lines
    }

    /// Folders whose build failed, as `sync` tells failed uploads.
    func failures() async -> [MountStatus.Failure] {
        ((try? await catalog.draftFolders(in: .failed)) ?? []).map { folder in
            MountStatus.Failure(
                at: Date(timeIntervalSince1970: TimeInterval(folder.changeTime) / 1e9), operation: "build",
                name: Self.displayPath(of: folder), errno: ErrnoMapping.name(of: folder.errorCode ?? EIO),
                errcode: nil, errmsg: folder.error ?? "failed")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
