import Foundation
import WeChatMedia

/// A `MaterialService` that counts the permanent library's transfers for the metrics endpoint,
/// beside temporary media's and under the same metric names: adds as uploads of type
/// `material_image`, `material_voice`, `material_video` or `material_thumb`, article images as
/// `article_image`, fetches (`get_material`) as downloads of type `material`. Listings and counts
/// pass through (their requests are counted by the client's own statistics).
public struct MeteredMaterialService: MaterialService {
    private let base: any MaterialService

    public init(_ base: any MaterialService) { self.base = base }

    public func addMaterial(
        fileAt path: String, as type: MediaType, name: String, title: String?, introduction: String?,
        progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> AddedMaterial {
        try await TransferMetrics.measure(
            .upload, type: "material_" + type.rawValue, errno: ErrnoMapping.errnoOfUpload(for:)
        ) {
            let added = try await base.addMaterial(
                fileAt: path, as: type, name: name, title: title, introduction: introduction, progress: progress)
            return (added, Self.size(of: path))
        }
    }

    public func uploadArticleImage(fileAt path: String, name: String) async throws -> String {
        try await TransferMetrics.measure(.upload, type: "article_image", errno: ErrnoMapping.errnoOfUpload(for:)) {
            (try await base.uploadArticleImage(fileAt: path, name: name), Self.size(of: path))
        }
    }

    public func getMaterial(mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void)
        async throws -> FetchedMaterial
    {
        let received = ByteTally()
        return try await TransferMetrics.measure(.download, type: "material", errno: ErrnoMapping.errno(for:)) {
            let fetched = try await base.getMaterial(mediaID: mediaID, to: path) { bytes in
                received.set(bytes)
                await progress(bytes)
            }
            return (fetched, received.value)
        }
    }

    public func deleteMaterial(mediaID: String) async throws { try await base.deleteMaterial(mediaID: mediaID) }

    public func materialCounts() async throws -> MaterialCounts { try await base.materialCounts() }

    public func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage {
        try await base.listMaterial(type, offset: offset, count: count)
    }

    /// The bytes sent: the file's size (an add reports progress, an article image does not).
    private static func size(of path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value ?? 0
    }
}
