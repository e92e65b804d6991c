import EmulatorTestSupport
import FleetCatalog
import Foundation
import Logging
import MediaCatalog
import Testing
import WeChatMedia

/// The names of `/material/` as both catalogs keep them: one name per folder, lookups by name,
/// id, media id and content, pages in id order, renames, and rows left half-written by a
/// process that died.
@Suite("Material catalog")
struct MaterialCatalogTests {
    typealias AnyMaterialCatalog = any Catalog & MaterialCatalog

    /// Runs `body` on a fresh SQLite catalog and on a fresh PostgreSQL one.
    static func onBoth(_ body: (AnyMaterialCatalog, String) async throws -> Void) async throws {
        try await onBoth { catalog, _, kind in try await body(catalog, kind) }
    }

    /// As `onBoth`, with `reopen`: the same catalog opened again by the same host, as its next
    /// mount after the first one died (the first stays open, as a dead process's session does
    /// until it is reaped).
    static func onBoth(
        _ body: (AnyMaterialCatalog, _ reopen: () async throws -> AnyMaterialCatalog, String) async throws -> Void
    ) async throws {
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/catalog.sqlite"
        try await body(try SQLiteCatalog(path: path), { try SQLiteCatalog(path: path) }, "sqlite")

        let database = try await TestPostgres.cluster().makeDatabase()
        var opened: [PostgresCatalog] = []
        let open: () async throws -> AnyMaterialCatalog = {
            let catalog = try await Self.open(database, host: "material")
            opened.append(catalog)
            return catalog
        }
        do {
            try await body(try await open(), open, "postgresql")
        } catch {
            for catalog in opened { await catalog.close() }
            await database.drop()
            throw error
        }
        for catalog in opened { await catalog.close() }
        await database.drop()
    }

    static func open(_ database: TestDatabase, host: String) async throws -> PostgresCatalog {
        try await PostgresCatalog.open(
            PostgresCatalogConfiguration(
                url: database.url, password: database.password, tls: .disable, account: "wxmaterial", hostKey: host),
            logger: Logger(label: "test.material-catalog"))
    }

    static func row(
        _ name: String, in folder: MaterialFolder = .image, _ state: MaterialEntry.State, mediaID: String? = nil,
        contentHash: String? = nil
    ) -> MaterialEntry {
        MaterialEntry(
            folder: folder, name: name, state: state, mediaID: mediaID, contentHash: contentHash, mode: 0o644, uid: 0,
            gid: 0, accessTime: 1_000, modificationTime: 1_000, changeTime: 1_000)
    }

    @Test func anInsertedEntryIsFoundByNameAndByIdAndItsNameIsHeld() async throws {
        try await Self.onBoth { catalog, kind in
            var row = Self.row("cat.jpg", .uploaded, mediaID: "MEDIA_1", contentHash: "aa")
            row.url = "http://mmbiz.example/cat"
            row.size = 9059
            row.updateTime = 1_796_000_000
            row.mode = 0o640
            row.uid = 1000
            row.gid = 1001
            let inserted = try await catalog.insertMaterial(row)
            let id = try #require(inserted.id, "\(kind): the insert returns the id")
            var expected = row
            expected.id = id
            #expect(inserted == expected, "\(kind)")
            #expect(try await catalog.materialEntry(in: .image, named: "cat.jpg") == expected, "\(kind)")
            #expect(try await catalog.materialEntry(id: id) == expected, "\(kind)")
            #expect(
                try await catalog.materialEntry(in: .voice, named: "cat.jpg") == nil, "\(kind): names are per folder")
            #expect(try await catalog.materialEntry(id: id + 1000) == nil, "\(kind)")

            await #expect(throws: CatalogError.nameTaken, "\(kind)") {
                _ = try await catalog.insertMaterial(Self.row("cat.jpg", .placeholder))
            }
            // The same name in another folder is another name.
            let voice = try await catalog.insertMaterial(Self.row("cat.jpg", in: .voice, .placeholder))
            #expect(voice.id != nil && voice.id != id, "\(kind)")
        }
    }

    @Test func listingsComeInPagesInIdOrder() async throws {
        try await Self.onBoth { catalog, kind in
            var ids: [Int64] = []
            for index in 0..<5 {
                let added = try await catalog.insertMaterial(Self.row("f\(index).jpg", .placeholder))
                ids.append(try #require(added.id))
                // Another folder's rows, between them, are not in this folder's pages.
                _ = try await catalog.insertMaterial(Self.row("f\(index).mp3", in: .voice, .placeholder))
            }
            let first = try await catalog.materialEntries(in: .image, afterID: 0, limit: 2)
            #expect(first.map(\.name) == ["f0.jpg", "f1.jpg"], "\(kind)")
            let second = try await catalog.materialEntries(in: .image, afterID: try #require(first.last?.id), limit: 2)
            #expect(second.map(\.name) == ["f2.jpg", "f3.jpg"], "\(kind)")
            let last = try await catalog.materialEntries(in: .image, afterID: try #require(second.last?.id), limit: 2)
            #expect(last.map(\.name) == ["f4.jpg"], "\(kind)")
            let all = try await catalog.materialEntries(in: .image, afterID: 0, limit: 100)
            #expect(all.compactMap(\.id) == ids, "\(kind): in id order")
            #expect(try await catalog.materialEntries(in: .thumb, afterID: 0, limit: 100).isEmpty, "\(kind)")
        }
    }

    @Test func theNamesHoldingAMediaIdAreFoundTogether() async throws {
        try await Self.onBoth { catalog, kind in
            let first = try await catalog.insertMaterial(Self.row("a.jpg", .uploaded, mediaID: "SHARED"))
            let copy = try await catalog.insertMaterial(Self.row("copy of a.jpg", .uploaded, mediaID: "SHARED"))
            _ = try await catalog.insertMaterial(Self.row("b.jpg", .uploaded, mediaID: "OTHER"))
            _ = try await catalog.insertMaterial(Self.row("a.jpg", in: .thumb, .uploaded, mediaID: "SHARED"))
            let holding = try await catalog.materialEntries(in: .image, mediaID: "SHARED")
            #expect(holding.map(\.id) == [first.id, copy.id], "\(kind): \(holding.map(\.name))")
            #expect(try await catalog.materialEntries(in: .image, mediaID: "NONE").isEmpty, "\(kind)")
        }
    }

    @Test func onlyAnUploadedEntryIsFoundByItsContent() async throws {
        try await Self.onBoth { catalog, kind in
            _ = try await catalog.insertMaterial(Self.row("w.jpg", .writing, contentHash: "beef"))
            _ = try await catalog.insertMaterial(Self.row("p.jpg", .placeholder, contentHash: "beef"))
            #expect(try await catalog.materialEntry(in: .image, contentHash: "beef") == nil, "\(kind)")
            let uploaded = try await catalog.insertMaterial(
                Self.row("u.jpg", .uploaded, mediaID: "M", contentHash: "beef"))
            _ = try await catalog.insertMaterial(Self.row("u.jpg", in: .thumb, .uploaded, contentHash: "cafe"))
            #expect(try await catalog.materialEntry(in: .image, contentHash: "beef")?.id == uploaded.id, "\(kind)")
            #expect(try await catalog.materialEntry(in: .image, contentHash: "cafe") == nil, "\(kind): other folder")
        }
    }

    @Test func anUpdateIsReadBackAndAGoneRowIsSaid() async throws {
        try await Self.onBoth { catalog, kind in
            var entry = try await catalog.insertMaterial(Self.row("v.mp4", in: .video, .writing))
            entry.state = .uploaded
            entry.mediaID = "VIDEO_1"
            entry.contentHash = "f00d"
            entry.size = 12_345
            entry.updateTime = 1_796_000_001
            entry.mode = 0o600
            entry.modificationTime = 2_000
            entry.changeTime = 2_001
            entry.accessTime = 2_002
            try await catalog.updateMaterial(entry)
            #expect(try await catalog.materialEntry(id: try #require(entry.id)) == entry, "\(kind)")
            #expect(try await catalog.materialEntry(in: .video, contentHash: "f00d") == entry, "\(kind)")
            // Only a rename renames: an update carrying an older name leaves the name alone.
            var stale = entry
            stale.name = "an older name.mp4"
            try await catalog.updateMaterial(stale)
            #expect(try await catalog.materialEntry(id: try #require(entry.id))?.name == "v.mp4", "\(kind)")

            let id = try #require(entry.id)
            try await catalog.deleteMaterial(id: id)
            #expect(try await catalog.materialEntry(id: id) == nil, "\(kind)")
            #expect(try await catalog.materialEntry(in: .video, named: "v.mp4") == nil, "\(kind)")
            await #expect(throws: CatalogError.entryGone, "\(kind)") { try await catalog.updateMaterial(entry) }
        }
    }

    /// A chmod or touch read the entry before an upload committed and writes after it: the
    /// upload's id and size stay. A size learnt from a whole read is kept only where none was.
    @Test func metadataAndLearntSizesNeverUndoAnUpload() async throws {
        try await Self.onBoth { catalog, kind in
            let listed = try await catalog.insertMaterial(Self.row("l.jpg", .uploaded, mediaID: "OLD"))
            let id = try #require(listed.id)
            var listedUnsized = listed
            listedUnsized.size = -1
            try await catalog.updateMaterial(listedUnsized)
            var uploaded = listedUnsized
            uploaded.mediaID = "NEW"
            uploaded.size = 9059
            try await catalog.updateMaterial(uploaded)
            var chmodded = listedUnsized
            chmodded.mode = 0o600
            chmodded.modificationTime = 5_000
            try await catalog.updateMaterialMetadata(chmodded)
            try await catalog.recordMaterialSize(id: id, size: 12)
            let now = try #require(try await catalog.materialEntry(id: id))
            #expect(now.mediaID == "NEW" && now.size == 9059, "\(kind): \(now)")
            #expect(now.mode == 0o600 && now.modificationTime == 5_000, "\(kind): \(now)")

            var unsized = try await catalog.insertMaterial(Self.row("u.jpg", .uploaded, mediaID: "U"))
            unsized.size = -1
            try await catalog.updateMaterial(unsized)
            try await catalog.recordMaterialSize(id: try #require(unsized.id), size: 12)
            #expect(try await catalog.materialEntry(id: try #require(unsized.id))?.size == 12, "\(kind)")
            var gone = unsized
            gone.id = 999_999
            await #expect(throws: CatalogError.entryGone, "\(kind)") { try await catalog.updateMaterialMetadata(gone) }
        }
    }

    @Test func renamesMoveTheNameReplaceAndRefuse() async throws {
        try await Self.onBoth { catalog, kind in
            let a = try await catalog.insertMaterial(Self.row("a.jpg", .uploaded, mediaID: "A"))
            let b = try await catalog.insertMaterial(Self.row("b.jpg", .uploaded, mediaID: "B"))
            let c = try await catalog.insertMaterial(Self.row("c.jpg", .uploaded, mediaID: "C"))
            let (aID, bID, cID) = (try #require(a.id), try #require(b.id), try #require(c.id))

            try await catalog.renameMaterial(id: aID, to: "renamed.jpg", replacing: nil)
            #expect(try await catalog.materialEntry(in: .image, named: "a.jpg") == nil, "\(kind)")
            #expect(try await catalog.materialEntry(in: .image, named: "renamed.jpg")?.id == aID, "\(kind)")

            await #expect(throws: CatalogError.nameTaken, "\(kind)") {
                try await catalog.renameMaterial(id: aID, to: "b.jpg", replacing: nil)
            }
            #expect(try await catalog.materialEntry(id: aID)?.name == "renamed.jpg", "\(kind): nothing changed")
            #expect(try await catalog.materialEntry(id: bID)?.name == "b.jpg", "\(kind)")

            try await catalog.renameMaterial(id: aID, to: "c.jpg", replacing: cID)
            #expect(try await catalog.materialEntry(id: cID) == nil, "\(kind): the replaced entry is gone")
            #expect(try await catalog.materialEntry(in: .image, named: "c.jpg")?.mediaID == "A", "\(kind)")

            await #expect(throws: CatalogError.notThere, "\(kind)") {
                try await catalog.renameMaterial(id: aID + 1000, to: "ghost.jpg", replacing: nil)
            }
            // A rename that fails deletes nothing it was to replace.
            await #expect(throws: CatalogError.notThere, "\(kind)") {
                try await catalog.renameMaterial(id: aID + 1000, to: "b.jpg", replacing: bID)
            }
            #expect(try await catalog.materialEntry(id: bID)?.name == "b.jpg", "\(kind)")
            let names = try await catalog.materialEntries(in: .image, afterID: 0, limit: 10).map(\.name)
            #expect(names == ["c.jpg", "b.jpg"], "\(kind): a keeps its id, and its place")
        }
    }

    @Test func aRestartRemovesOnlyTheRowsLeftBeingWritten() async throws {
        try await Self.onBoth { catalog, reopen, kind in
            let writing = try await catalog.insertMaterial(Self.row("w.jpg", .writing))
            let placeholder = try await catalog.insertMaterial(Self.row("p.jpg", .placeholder))
            let uploaded = try await catalog.insertMaterial(Self.row("u.jpg", .uploaded, mediaID: "U"))
            var finished = try await catalog.insertMaterial(Self.row("f.jpg", in: .voice, .writing))
            finished.state = .placeholder
            try await catalog.updateMaterial(finished)

            let restarted = try await reopen()
            let removed = try await restarted.removeUnfinishedMaterial()
            #expect(removed.map(\.id) == [writing.id], "\(kind): \(removed.map(\.name))")
            #expect(try await restarted.materialEntry(in: .image, named: "w.jpg") == nil, "\(kind)")
            for kept in [placeholder, uploaded, finished] {
                #expect(try await restarted.materialEntry(id: try #require(kept.id)) == kept, "\(kind): \(kept.name)")
            }
            // The name is free again.
            _ = try await restarted.insertMaterial(Self.row("w.jpg", .placeholder))
            #expect(try await restarted.removeUnfinishedMaterial().isEmpty, "\(kind)")
        }
    }

    @Test func anotherHostsRowBeingWrittenIsHiddenYetHoldsItsName() async throws {
        let database = try await TestPostgres.cluster().makeDatabase()
        let first = try await Self.open(database, host: "first")
        let second = try await Self.open(database, host: "second")
        do {
            let writing = try await first.insertMaterial(Self.row("w.jpg", .writing))
            let id = try #require(writing.id)
            #expect(try await first.materialEntry(in: .image, named: "w.jpg") == writing, "the writer sees it")
            #expect(try await second.materialEntry(in: .image, named: "w.jpg") == nil)
            #expect(try await second.materialEntry(id: id) == nil)
            #expect(try await second.materialEntries(in: .image, afterID: 0, limit: 10).isEmpty)
            await #expect(throws: CatalogError.nameTaken, "the name is held") {
                _ = try await second.insertMaterial(Self.row("w.jpg", .writing))
            }
            #expect(try await second.removeUnfinishedMaterial().isEmpty, "a live host's rows stay")
            #expect(try await first.materialEntry(id: id) == writing)

            var closed = writing
            closed.state = .placeholder
            try await first.updateMaterial(closed)
            #expect(try await second.materialEntry(in: .image, named: "w.jpg") == closed, "seen once closed")

            // A row whose writer's session is gone goes, with whichever host removes it first
            // (the reaper may beat the call).
            let orphan = try await first.insertMaterial(Self.row("o.jpg", .writing))
            let orphanID = try #require(orphan.id)
            try await database.execute("DELETE FROM wxmediafs_wxmaterial.host_session WHERE host_key = 'first'")
            let removed = try await second.removeUnfinishedMaterial()
            #expect(removed.allSatisfy { $0.id == orphanID }, "\(removed.map(\.name))")
            let left = try await database.scalar(
                "SELECT count(*) FROM wxmediafs_wxmaterial.material WHERE id = \(orphanID)")
            #expect(left == 0)
            #expect(try await second.materialEntry(id: try #require(closed.id)) == closed, "a closed row stays")
        } catch {
            await first.close()
            await second.close()
            await database.drop()
            throw error
        }
        await first.close()
        await second.close()
        await database.drop()
    }
}
