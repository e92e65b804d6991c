import Foundation
import Synchronization
import WeChatMedia

/// The permanent material library as a dictionary: the material reference model's server, where
/// hundreds of sequences must run in seconds. Ids are `p1`, `p2`, ... in the order of adds, so
/// a model that mirrors every add knows them; `update_time` is the test clock's.
final class InMemoryMaterialService: MaterialService {
    struct Stored: Sendable, Equatable {
        var type: MediaType
        var name: String
        var bytes: [UInt8]
        var updateTime: Int64
        var order: Int
    }

    private struct State {
        var library: [String: Stored] = [:]
        var nextID = 1
        var listPages = 0
        /// Adds the service answers with these errors, in order, before any other.
        var failures: [any Error] = []
        var adds = 0
    }

    private let clock: ManualClock
    private let state = Mutex(State())
    /// Holds adds (after the rules) when told.
    private let gate = HoldGate()

    init(clock: ManualClock) { self.clock = clock }

    var listPages: Int { state.withLock { $0.listPages } }

    /// `add_material` calls that reached the library (failed ones too).
    var addCount: Int { state.withLock { $0.adds } }

    /// The next add fails with `error`.
    func failNextAdd(with error: any Error) { state.withLock { $0.failures.append(error) } }

    /// Adds from now on wait, as if the server took its time, until `releaseAdds()`.
    func holdAdds() { gate.hold() }

    /// Lets the held adds go on, and the next ones run at once.
    func releaseAdds() { gate.release() }

    /// Adds waiting for `releaseAdds()`.
    var heldAdds: Int { gate.waiting }

    func stored(_ mediaID: String) -> Stored? { state.withLock { $0.library[mediaID] } }

    /// A material added elsewhere (the console): returns its id.
    @discardableResult
    func addDirectly(_ bytes: [UInt8], as type: MediaType, name: String) -> String {
        state.withLock { state in
            defer { state.nextID += 1 }
            let id = "p\(state.nextID)"
            state.library[id] = Stored(
                type: type, name: name, bytes: bytes, updateTime: clock.seconds, order: state.nextID)
            return id
        }
    }

    /// Deleted elsewhere.
    func deleteDirectly(_ mediaID: String) { _ = state.withLock { $0.library.removeValue(forKey: mediaID) } }

    func addMaterial(
        fileAt path: String, as type: MediaType, name: String, title: String?, introduction: String?,
        progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> AddedMaterial {
        _ = try WeChatMediaClient.materialRules.check(fileAt: path, as: type)
        await gate.pass()
        let bytes = Array(FileManager.default.contents(atPath: path) ?? Data())
        try state.withLock { state in
            state.adds += 1
            if !state.failures.isEmpty { throw state.failures.removeFirst() }
        }
        let id = addDirectly(bytes, as: type, name: name)
        return AddedMaterial(mediaID: id, url: type == .image ? "http://mmbiz.test/\(id)" : nil)
    }

    func getMaterial(mediaID: String, to path: String, progress: @escaping @Sendable (Int64) async -> Void)
        async throws -> FetchedMaterial
    {
        guard let stored = stored(mediaID) else { throw APIError(errcode: 40007, errmsg: "invalid media_id") }
        _ = FileManager.default.createFile(atPath: path, contents: Data(stored.bytes))
        await progress(Int64(stored.bytes.count))
        return FetchedMaterial(
            file: RemoteFile(size: Int64(stored.bytes.count), contentType: "image/jpeg", filename: "media"))
    }

    func deleteMaterial(mediaID: String) async throws {
        let removed = state.withLock { $0.library.removeValue(forKey: mediaID) }
        guard removed != nil else { throw APIError(errcode: 40007, errmsg: "invalid media_id") }
    }

    /// Newest first, as the server lists.
    func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage {
        state.withLock { state in
            state.listPages += 1
            let all = state.library.filter { $0.value.type == type }.sorted { $0.value.order > $1.value.order }
            let page = all.dropFirst(offset).prefix(count).map { id, stored in
                MaterialItem(mediaID: id, name: stored.name, updateTime: stored.updateTime, url: nil)
            }
            return MaterialPage(totalCount: all.count, items: Array(page))
        }
    }

    func materialCounts() async throws -> MaterialCounts {
        state.withLock { state in
            let types = state.library.values.map(\.type)
            return MaterialCounts(
                image: types.filter { $0 == .image || $0 == .thumb }.count, voice: types.filter { $0 == .voice }.count,
                video: types.filter { $0 == .video }.count, news: 0)
        }
    }

    func uploadArticleImage(fileAt path: String, name: String) async throws -> String {
        throw APIError(errcode: 40004, errmsg: "not in this twin")
    }
}
