import EmulatorTestSupport
import FleetCatalog
import Foundation
import Logging
import MediaCatalog
import Testing
import WeChatMedia

/// The tree's rules as both catalogs keep them (issue 20): removals and renames name the place
/// they act on, a folder is removed only empty, nothing is created in a folder that is gone, a
/// folder never moves into itself, and folders' times follow their entries.
@Suite("Catalog tree")
struct CatalogTreeTests {
    /// Runs `body` on a fresh SQLite catalog and on a fresh PostgreSQL one.
    static func onBoth(_ body: (any Catalog, String) async throws -> Void) async throws {
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await body(try SQLiteCatalog(path: folder + "/catalog.sqlite"), "sqlite")
        let database = try await TestPostgres.cluster().makeDatabase()
        let catalog = try await PostgresCatalog.open(
            PostgresCatalogConfiguration(
                url: database.url, password: database.password, tls: .disable, account: "wxtree", hostKey: "tree"),
            logger: Logger(label: "test.catalog-tree"))
        do {
            try await body(catalog, "postgresql")
        } catch {
            await catalog.close()
            await database.drop()
            throw error
        }
        await catalog.close()
        await database.drop()
    }

    static func row(_ name: String, in folder: CatalogFolder, _ state: CatalogEntry.State, at time: Int64)
        -> CatalogEntry
    {
        CatalogEntry(
            folder: folder, name: name, state: state, mode: 0o644, uid: 0, gid: 0, accessTime: time,
            modificationTime: time, changeTime: time)
    }

    /// A chmod or touch read the entry before a queued upload committed and writes after it:
    /// the upload stays (the reference model met this once, a truncate by path in background
    /// mode whose setattr wrote back the entry as queued, and the sidecar never came).
    @Test func aMetadataWriteNeverUndoesAnUploadCommittedMeanwhile() async throws {
        try await Self.onBoth { catalog, kind in
            let queued = try await catalog.insert(Self.row("q.jpg", in: .top(.image), .queued, at: 1_000))
            let id = try #require(queued.id)
            var uploaded = queued
            uploaded.state = .uploaded
            uploaded.mediaID = "MEDIA_ID_1"
            uploaded.size = 9059
            uploaded.createdAt = 1_796_000_000
            try await catalog.update(
                uploaded,
                recording: KnownMedia(
                    mediaID: "MEDIA_ID_1", type: .image, size: 9059, contentType: "image/jpeg",
                    createdAt: 1_796_000_000, firstSeen: 1_796_000_000))
            var touched = queued
            touched.mode = 0o600
            touched.modificationTime = 2_000
            try await catalog.updateMetadata(touched)
            let now = try #require(try await catalog.entry(id: id))
            #expect(now.state == .uploaded && now.mediaID == "MEDIA_ID_1" && now.size == 9059, "\(kind): \(now)")
            #expect(now.createdAt == 1_796_000_000, "\(kind)")
            #expect(now.mode == 0o600 && now.modificationTime == 2_000, "\(kind): the metadata was written")
        }
    }

    @Test func removalsAndRenamesActOnlyWhereTheyWereAimed() async throws {
        try await Self.onBoth { catalog, kind in
            let top = CatalogFolder.top(.image)
            let file = try await catalog.insert(Self.row("a.jpg", in: top, .placeholder, at: 1_000))
            let id = try #require(file.id)
            try await catalog.move(
                id: id, from: .init(folder: top, name: "a.jpg"), to: top, name: "b.jpg", replacing: nil,
                changeTime: 2_000)
            // A second rename, and a removal, still naming a.jpg: another host moved it meanwhile.
            await #expect(throws: CatalogError.notThere, "\(kind)") {
                try await catalog.move(
                    id: id, from: .init(folder: top, name: "a.jpg"), to: top, name: "c.jpg", replacing: nil,
                    changeTime: 3_000)
            }
            await #expect(throws: CatalogError.notThere, "\(kind)") {
                try await catalog.remove(id: id, at: .init(folder: top, name: "a.jpg"), time: 3_000)
            }
            #expect(try await catalog.entry(in: top, named: "b.jpg")?.id == id, "\(kind): still b.jpg")
            #expect(try await catalog.topFolderTimes(.image) == FolderTimes(modification: 2_000, change: 2_000))
            try await catalog.remove(id: id, at: .init(folder: top, name: "b.jpg"), time: 4_000)
            #expect(try await catalog.entry(id: id) == nil)
            #expect(try await catalog.topFolderTimes(.image)?.modification == 4_000, "\(kind)")
        }
    }

    @Test func aFolderGoesOnlyEmptyAndNothingIsCreatedInAFolderThatWent() async throws {
        try await Self.onBoth { catalog, kind in
            let top = CatalogFolder.top(.image)
            let made = try await catalog.insert(Self.row("d", in: top, .directory, at: 1_000))
            let folder = try #require(made.asFolder)
            let child = try await catalog.insert(Self.row("f.jpg", in: folder, .writing, at: 1_500))
            #expect(try await catalog.entry(id: try #require(made.id))?.modificationTime == 1_500, "\(kind)")
            await #expect(throws: CatalogError.notEmpty, "\(kind): a file being written keeps it") {
                try await catalog.removeFolder(
                    id: made.id ?? 0, at: .init(folder: top, name: "d"), expiredAtOrBefore: 0, time: 2_000)
            }
            try await catalog.delete(id: child.id ?? 0)
            // An expired file (hidden) goes with its folder.
            var expired = Self.row("old.jpg", in: folder, .uploaded, at: 1_600)
            expired.mediaID = "old"
            expired.createdAt = 1_700_000_000
            _ = try await catalog.insert(expired)
            try await catalog.removeFolder(
                id: made.id ?? 0, at: .init(folder: top, name: "d"), expiredAtOrBefore: 1_700_000_000, time: 2_000)
            await #expect(throws: CatalogError.folderGone, "\(kind)") {
                _ = try await catalog.insert(Self.row("late.jpg", in: folder, .writing, at: 3_000))
            }
        }
    }

    @Test func aFolderNeverMovesIntoItself() async throws {
        try await Self.onBoth { catalog, kind in
            guard kind == "postgresql" else { return }  // One host: the filesystem checks first.
            let top = CatalogFolder.top(.image)
            let p = try await catalog.insert(Self.row("p", in: top, .directory, at: 1))
            let q = try await catalog.insert(Self.row("q", in: try #require(p.asFolder), .directory, at: 1))
            await #expect(throws: CatalogError.wouldCycle) {
                try await catalog.move(
                    id: p.id ?? 0, from: .init(folder: top, name: "p"), to: try #require(q.asFolder), name: "p",
                    replacing: nil, changeTime: 2)
            }
        }
    }
}
