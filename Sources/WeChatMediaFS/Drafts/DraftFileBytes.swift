import FUSEKit
import Foundation
import LocalByteStore
import MediaCatalog
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The bytes of article folders' files. Each is a file of the cache dir; on a catalog the
/// fleet shares (`SharedDraftBytes`) it is kept in the catalog too, before the file's new hash
/// is recorded, so any host can build, read or edit a file another host wrote: a host whose
/// copy is missing or older than the file fetches it once.
final class DraftFileBytes: Sendable {
    private let cache: ContentCache
    private let shared: (any SharedDraftBytes)?
    /// The hash of each copy this mount wrote or fetched: a copy it knows is not hashed again.
    private let copies = Mutex<[Int64: String]>([:])

    init(cache: ContentCache, catalog: any DraftCatalog) {
        self.cache = cache
        self.shared = catalog as? any SharedDraftBytes
    }

    /// Makes a closed file's spool its bytes (`contentHash` is the spool's).
    func keep(spoolPath: String, id: Int64, contentHash: String) async throws {
        if let shared {
            guard let bytes = FileManager.default.contents(atPath: spoolPath) else { throw FUSEError.io }
            try await shared.storeDraftBytes(fileID: id, contentHash: contentHash, bytes: Array(bytes))
        }
        do {
            try cache.keepDraftFile(spoolPath: spoolPath, id: id)
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
        copies.withLock { $0[id] = contentHash }
    }

    /// Makes `bytes` (of hash `contentHash`) file `id`'s: an article of a draft made elsewhere.
    func write(_ bytes: [UInt8], id: Int64, contentHash: String) async throws {
        try await shared?.storeDraftBytes(fileID: id, contentHash: contentHash, bytes: bytes)
        do {
            try cache.writeDraftFile(bytes, id: id)
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
        copies.withLock { $0[id] = contentHash }
    }

    /// Where the file's bytes are read, fetched first if this host's copy is not the file's;
    /// nil for a file never closed (it is empty). EAGAIN if the file changed while it was fetched.
    func path(of file: DraftFile) async throws -> String? {
        guard let id = file.id, let hash = file.contentHash else { return nil }
        let path = cache.draftFilePath(id: id)
        guard let shared else { return path }
        if copies.withLock({ $0[id] }) == hash, access(path, F_OK) == 0 { return path }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            if try MaterialUploads.sha256(of: descriptor) == hash {
                copies.withLock { $0[id] = hash }
                return path
            }
        }
        guard let bytes = try await shared.draftBytes(fileID: id, contentHash: hash) else {
            throw FUSEError(EAGAIN)
        }
        do {
            try cache.writeDraftFile(bytes, id: id)
        } catch {
            throw FUSEError(ErrnoMapping.errno(for: error))
        }
        copies.withLock { $0[id] = hash }
        return path
    }

    func remove(id: Int64) {
        copies.withLock { _ = $0.removeValue(forKey: id) }
        cache.removeDraftFile(id: id)
    }
}
