/// One page of the server's material library: what a listing needs of the client.
public protocol MaterialLister: Sendable {
    func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage
}

/// The permanent material library and article images, as the filesystem asks for them: the
/// client behind a protocol, so tests can put a twin that fails on purpose in its place.
public protocol MaterialService: MaterialLister {
    func addMaterial(
        fileAt path: String, as type: MediaType, name: String, title: String?, introduction: String?,
        progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> AddedMaterial
    func getMaterial(mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void)
        async throws -> FetchedMaterial
    func deleteMaterial(mediaID: String) async throws
    func materialCounts() async throws -> MaterialCounts
    func uploadArticleImage(fileAt path: String, name: String) async throws -> String
}

extension WeChatMediaClient: MaterialService {}
