import EmulatorTestSupport
import FUSEKit
import Foundation
import MediaCatalog
import Testing
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// The reference model of `/material/`: seeded random sequences of copies (the same bytes
/// often), removals with and without `--allow-delete`, renames, materials added and deleted on
/// the server directly, clock advances past the listing's TTL and remounts, applied to the
/// filesystem (over the in-memory library) and to `MaterialModel`, compared after every step:
/// the names of each folder, each sidecar's id (so every add the mount made is one the model
/// made), and one file's bytes. `MATERIAL_REFTEST_SEED=N` replays one sequence.
@Suite("Material reference model")
struct MaterialReferenceModelTests {
    static let shards = 2

    @Test(arguments: 0..<shards)
    func randomMaterialSequencesAgreeWithTheModel(shard: Int) async throws {
        try await Self.run(shard: shard, sequences: 300, backend: .sqlite)
    }

    @Test(arguments: 0..<shards)
    func randomMaterialSequencesAgreeWithTheModelOnPostgreSQL(shard: Int) async throws {
        try await Self.run(shard: shard, sequences: 20, backend: .postgres)
    }

    static func run(shard: Int, sequences: Int, backend: CatalogBackend) async throws {
        let seeds: [UInt64] =
            if let one = ProcessInfo.processInfo.environment["MATERIAL_REFTEST_SEED"].flatMap(UInt64.init) {
                shard == 0 ? [one] : []
            } else {
                (0..<UInt64(sequences / shards)).map { UInt64(shard) + $0 * UInt64(shards) }
            }
        for seed in seeds {
            let mismatch = try await MaterialModelRun(seed: seed, backend: backend).run()
            #expect(mismatch == nil, "seed \(seed) on \(backend): \(mismatch ?? "")")
            if mismatch != nil { return }
        }
    }
}

enum MaterialOperation: CustomStringConvertible {
    case copy(MediaType, String, Int)
    case remove(MediaType, String)
    case rename(MediaType, String, String)
    case serverAdds(MediaType, String, Int)
    case serverDeletes(MediaType, Int)
    case advance(Int64)
    case remount

    var description: String {
        switch self {
        case .copy(let type, let name, let content): "cp content \(content) to \(type.rawValue)/\(name)"
        case .remove(let type, let name): "rm \(type.rawValue)/\(name)"
        case .rename(let type, let from, let to): "mv \(type.rawValue)/\(from) \(to)"
        case .serverAdds(let type, let name, let content): "server adds \(type.rawValue) \(name) (content \(content))"
        case .serverDeletes(let type, let index): "server deletes its \(type.rawValue) #\(index)"
        case .advance(let seconds): "advance \(seconds) s"
        case .remount: "remount"
        }
    }
}

struct MaterialModelRun {
    let seed: UInt64
    let backend: CatalogBackend
    static let steps = 30
    static let types: [MediaType] = [.image, .voice]
    static let names: [MediaType: [String]] = [.image: ["a.jpg", "b.jpg", "c.jpg"], .voice: ["a.mp3", "b.mp3"]]
    static let contents: [MediaType: [[UInt8]]] = [
        .image: [Samples.jpeg(size: 500), Samples.jpeg(size: 600), Samples.jpeg(size: 700)],
        .voice: [Samples.mp3(frames: 10), Samples.mp3(frames: 12)],
    ]

    func run() async throws -> String? {
        var random = SplitMix64(seed: seed)
        let clock = ManualClock(seconds: 1_800_000_000)
        let library = InMemoryMaterialService(clock: clock)
        var settings = CoreFixture.defaultSettings
        settings.allowDelete = seed % 2 == 0
        settings.materialListSeconds = 60
        settings.listingPageSize = 2
        var core = try await CoreFixture.make(
            clock: clock, service: InMemoryMediaService(clock: clock), material: library, settings: settings,
            backend: backend)
        defer { core.remove() }
        var model = MaterialModel(allowDelete: settings.allowDelete)
        var log: [String] = []
        for step in 0..<Self.steps {
            await Task.yield()
            clock.advance(seconds: 1)
            let operation = Self.next(&random)
            log.append(operation.description)
            let actual = try await Self.apply(operation, to: &core, library: library, clock: clock)
            let expected = model.apply(operation, now: clock.now())
            if actual != expected {
                return "step \(step): errno \(actual.map(String.init) ?? "none"), model says "
                    + "\(expected.map(String.init) ?? "none")\n  " + log.joined(separator: "\n  ")
            }
            for type in Self.types {
                let folder = "material/" + type.rawValue
                let listed = try await core.list(folder)
                model.refreshIfDue(type, now: clock.now())
                let rows = model.rows[type] ?? [:]
                let expectedNames = rows.flatMap { name, row in row.id == nil ? [name] : [name, name + ".media_id"] }
                if listed.sorted() != expectedNames.sorted() {
                    return "after step \(step) \(folder): listed \(listed.sorted()), model \(expectedNames.sorted())"
                        + "\n  " + log.joined(separator: "\n  ")
                }
                for (name, row) in rows {
                    guard let id = row.id else { continue }
                    let sidecar = String(
                        decoding: try await core.read(folder + "/" + name + ".media_id"), as: UTF8.self)
                    if sidecar != id + "\n" {
                        return "after step \(step) \(folder)/\(name): id \(sidecar), model \(id)\n  "
                            + log.joined(separator: "\n  ")
                    }
                }
                if let (name, row) = rows.sorted(by: { $0.key < $1.key }).first, let id = row.id,
                    let stored = library.stored(id)
                {
                    let bytes = try await core.read(folder + "/" + name)
                    if bytes != stored.bytes {
                        return "after step \(step) \(folder)/\(name): \(bytes.count) bytes, the server's "
                            + "\(stored.bytes.count)\n  " + log.joined(separator: "\n  ")
                    }
                }
            }
        }
        return nil
    }

    static func next(_ random: inout SplitMix64) -> MaterialOperation {
        let type = types[Int(random.next() % UInt64(types.count))]
        let names = Self.names[type] ?? []
        let name = names[Int(random.next() % UInt64(names.count))]
        let other = names[Int(random.next() % UInt64(names.count))]
        let content = Int(random.next() % UInt64(contents[type]?.count ?? 1))
        switch random.next() % 100 {
        case 0..<35: return .copy(type, name, content)
        case 35..<50: return .remove(type, name)
        case 50..<62: return .rename(type, name, other)
        case 62..<72: return .serverAdds(type, random.next() % 2 == 0 ? name : "console." + name, content)
        case 72..<80: return .serverDeletes(type, Int(random.next() % 4))
        case 80..<92: return .advance(61)
        default: return .remount
        }
    }

    static func apply(
        _ operation: MaterialOperation, to core: inout CoreFixture, library: InMemoryMaterialService,
        clock: ManualClock
    ) async throws -> Int32? {
        switch operation {
        case .copy(let type, let name, let content):
            let bytes = contents[type]?[content] ?? []
            return await CoreFixture.errno { try await core.copy(bytes, to: "material/\(type.rawValue)/\(name)") }
        case .remove(let type, let name):
            return await CoreFixture.errno { try await core.unlink("material/\(type.rawValue)/\(name)") }
        case .rename(let type, let from, let to):
            return await CoreFixture.errno {
                try await core.rename("material/\(type.rawValue)/\(from)", to: "material/\(type.rawValue)/\(to)")
            }
        case .serverAdds(let type, let name, let content):
            library.addDirectly(contents[type]?[content] ?? [], as: type, name: name)
        case .serverDeletes(let type, let index):
            let ids = try await library.listMaterial(type, offset: 0, count: 20).items.map(\.mediaID)
            if !ids.isEmpty { library.deleteDirectly(ids.sorted()[index % ids.count]) }
        case .advance(let seconds):
            clock.advance(seconds: seconds)
        case .remount:
            core = try await core.reopened()
        }
        return nil
    }
}

/// What a user of `/material/` should see: each folder's names, each holding a media id and, if
/// copied in here, its bytes; the server's library; and when each folder's listing was last
/// crawled (its TTL 60 s).
struct MaterialModel {
    struct Row: Equatable {
        var id: String?
        /// The bytes copied in here (a row the listing made has none: nothing to compare).
        var bytes: [UInt8]?
        var changeTime: Int64
    }

    struct Material {
        var type: MediaType
        var name: String
        var updateTime: Int64
    }

    let allowDelete: Bool
    var rows: [MediaType: [String: Row]] = [:]
    var server: [String: Material] = [:]
    var nextID = 1
    var lastCrawl: [MediaType: Int64] = [:]
    static let ttl: Int64 = 60 * 1_000_000_000

    init(allowDelete: Bool) { self.allowDelete = allowDelete }

    mutating func apply(_ operation: MaterialOperation, now: Int64) -> Int32? {
        switch operation {
        case .copy(let type, let name, let content):
            let bytes = MaterialModelRun.contents[type]?[content] ?? []
            if rows[type]?[name]?.bytes == bytes { return nil }
            let id: String
            if let same = rows[type]?.values.first(where: { $0.bytes == bytes && $0.id != nil }), let known = same.id {
                id = known
            } else {
                id = add(type, name: name, now: now)
            }
            rows[type, default: [:]][name] = Row(id: id, bytes: bytes, changeTime: now)
        case .remove(let type, let name):
            guard let row = rows[type]?[name] else { return ENOENT }
            if let id = row.id {
                guard allowDelete else { return EPERM }
                let others = rows[type]?.filter { $0.key != name && $0.value.id == id } ?? [:]
                if others.isEmpty { server[id] = nil }
            }
            rows[type]?[name] = nil
        case .rename(let type, let from, let to):
            guard let row = rows[type]?[from] else { return ENOENT }
            guard from != to else { return nil }
            rows[type]?[from] = nil
            rows[type]?[to] = row
        case .serverAdds(let type, let name, _):
            _ = add(type, name: name, now: now)
        case .serverDeletes(let type, let index):
            let ids = server.filter { $0.value.type == type }.keys.sorted()
            if !ids.isEmpty { server[ids[index % ids.count]] = nil }
        case .advance:
            break
        case .remount:
            lastCrawl = [:]
        }
        return nil
    }

    private mutating func add(_ type: MediaType, name: String, now: Int64) -> String {
        defer { nextID += 1 }
        let id = "p\(nextID)"
        server[id] = Material(type: type, name: name, updateTime: now / 1_000_000_000)
        return id
    }

    /// What a listing of `type`'s folder does when its kept crawl is older than the TTL: rows
    /// whose material is gone go (unless changed since the crawl began), new materials get names.
    mutating func refreshIfDue(_ type: MediaType, now: Int64) {
        if let last = lastCrawl[type], now - last < Self.ttl { return }
        lastCrawl[type] = now
        var folder = rows[type] ?? [:]
        for (name, row) in folder {
            if let id = row.id, server[id] == nil, row.changeTime < now { folder[name] = nil }
        }
        let held = Set(folder.values.compactMap(\.id))
        let fresh = server.filter { $0.value.type == type && !held.contains($0.key) }.map { id, material in
            MaterialItem(mediaID: id, name: material.name, updateTime: material.updateTime, url: nil)
        }
        var reserved: [String: String] = [:]
        for (name, row) in folder { reserved[name] = row.id ?? "#" }
        for (id, name) in MaterialNames.names(for: fresh, reserved: reserved) {
            let updateTime = server[id]?.updateTime ?? 0
            folder[name] = Row(id: id, bytes: nil, changeTime: updateTime * 1_000_000_000)
        }
        rows[type] = folder
    }
}
