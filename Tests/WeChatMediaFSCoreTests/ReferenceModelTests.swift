import EmulatorTestSupport
import FUSEKit
import Foundation
import LocalByteStore
import MediaCatalog
import Testing
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// In the manner of mountpoint-s3's reftests: seeded random sequences of writes (whole, in
/// pieces out of order, with a second handle open), overwrites, truncates, renames, deletes,
/// folders, failed uploads, the server forgetting an id (40007), remounts and clock advances, applied both to the filesystem (over the
/// in-memory media service, listing folders two catalog entries a page) and to `FileTreeModel`,
/// compared after every step. On PostgreSQL two hosts share the catalog: each step runs on one
/// of them, and both are compared with the model. A failure names its seed and step: `REFTEST_SEED=N swift test --filter ReferenceModel`
/// replays one sequence.
@Suite("Reference model")
struct ReferenceModelTests {
    static let sequences = 1000
    static let shards = 4
    static let steps = 25

    /// The first `postgresSequences` of the same sequences run on the fleet catalog too: each has
    /// a database of its own, so fewer of them.
    static let postgresSequences = 40

    @Test(arguments: 0..<shards)
    func randomSequencesAgreeWithTheModel(shard: Int) async throws {
        try await Self.run(shard: shard, sequences: Self.sequences, backend: .sqlite)
    }

    @Test(arguments: 0..<shards)
    func randomSequencesAgreeWithTheModelOnPostgreSQL(shard: Int) async throws {
        try await Self.run(shard: shard, sequences: Self.postgresSequences, backend: .postgres)
    }

    /// The first `backgroundSequences` again with `--uploads background`, every close followed
    /// by `wxmediafs sync`: the same tree, except that a failed upload leaves its file (its
    /// bytes, no sidecar) where sync mode's close fails and keeps what was there, and that the
    /// failure (errcode -1: it may pass) is tried again, and passes, in the next step's `sync`.
    static let backgroundSequences = 200

    @Test(arguments: 0..<shards)
    func randomSequencesAgreeWithTheModelInBackgroundMode(shard: Int) async throws {
        try await Self.run(shard: shard, sequences: Self.backgroundSequences, backend: .sqlite, uploads: .background)
    }

    /// Shard `shard`'s part of the first `sequences` seeds (or only `REFTEST_SEED`, in shard 0).
    static func run(shard: Int, sequences: Int, backend: CatalogBackend, uploads: UploadMode = .sync) async throws {
        let seeds: [UInt64] =
            if let one = ProcessInfo.processInfo.environment["REFTEST_SEED"].flatMap(UInt64.init) {
                shard == 0 ? [one] : []
            } else {
                (0..<UInt64(sequences / shards)).map { UInt64(shard) + $0 * UInt64(shards) }
            }
        for seed in seeds {
            let mismatch = try await ModelRun(seed: seed, steps: steps, backend: backend, uploads: uploads).run()
            #expect(mismatch == nil, "seed \(seed) on \(backend), \(uploads) uploads: \(mismatch ?? "")")
            if mismatch != nil { return }
        }
    }
}

/// One seeded sequence against a fresh filesystem.
struct ModelRun {
    let seed: UInt64
    let steps: Int
    var backend: CatalogBackend = .sqlite
    var uploads: UploadMode = .sync
    static let ttl: Int64 = 3 * 86400
    static let names = ["a", "b.jpg", "c", "d.amr"]
    static let types: [MediaType] = [.image, .voice]

    func run() async throws -> String? {
        var random = SplitMix64(seed: seed)
        let clock = ManualClock(seconds: 1_800_000_000)
        let service = InMemoryMediaService(clock: clock)
        var settings = CoreFixture.defaultSettings
        settings.uploadMode = uploads
        // A failed upload that may pass is tried again by the next step's `sync`, never by the
        // queue's timer within a run (its own timing is `BackgroundUploadCoreTests`').
        settings.queuedUploadRetryDelay = .seconds(86_400)
        // Four names and their sidecars in a folder: two entries a page list most over several.
        settings.listingPageSize = 2
        var hosts = [try await CoreFixture.make(clock: clock, service: service, settings: settings, backend: backend)]
        defer {
            // The hosts as they are at the end (a remount replaces one); the others leave the
            // shared database before the first drops it.
            let ending = hosts
            if ending.count == 1 {
                ending[0].remove()
            } else {
                Task {
                    for other in ending.dropFirst() { await other.leave() }
                    ending[0].remove()
                }
            }
        }
        if backend == .postgres { hosts.append(try await hosts[0].otherHost()) }
        var model = FileTreeModel(ttl: Self.ttl, failedUploadsStay: uploads == .background)
        var log: [String] = []
        for step in 0..<steps {
            // SQLite calls never suspend: without a yield, four shards would hold both
            // cooperative threads for the whole run, and every other test's timers would wait.
            await Task.yield()
            let operation = Self.nextOperation(&random, model: model)
            let host = hosts.count > 1 ? Int(random.next() % UInt64(hosts.count)) : 0
            log.append(hosts.count > 1 ? "host \(host): \(operation)" : operation.description)
            let actual = try await Self.apply(operation, to: &hosts[host], service: service, clock: clock)
            service.clearFailures()
            let expected = model.apply(operation, now: clock.seconds)
            if expected != actual {
                return "step \(step) \(operation): errno \(actual.map(String.init) ?? "none"), model says "
                    + "\(expected.map(String.init) ?? "none")\n  " + log.joined(separator: "\n  ")
            }
            for (index, core) in hosts.enumerated() {
                if let difference = try await Self.compare(core, model, service: service, now: clock.seconds) {
                    let seen = hosts.count > 1 ? " (on host \(index))" : ""
                    return "after step \(step) \(operation)\(seen): \(difference)\n  " + log.joined(separator: "\n  ")
                }
            }
        }
        return nil
    }

    // MARK: Operations

    static func nextOperation(_ random: inout SplitMix64, model: FileTreeModel) -> ModelOperation {
        let folders = model.folders.sorted()
        let folder = folders[Int(random.next() % UInt64(folders.count))]
        let path = folder + "/" + names[Int(random.next() % UInt64(names.count))]
        let other =
            folders[Int(random.next() % UInt64(folders.count))] + "/"
            + names[Int(random.next() % UInt64(names.count))]
        switch random.next() % 100 {
        case 0..<22: return .write(path, content(&random, for: path))
        case 22..<27:
            let bytes = content(&random, for: path)
            return .writeInPieces(path, bytes, pieces: pieces(&random, of: bytes.count))
        case 27..<30: return .writeWithReaderOpen(path, content(&random, for: path))
        case 30..<36: return .write(path, [])
        case 36..<42: return .write(path, Array("not media".utf8))
        case 42..<48: return .failedUpload(path, content(&random, for: path))
        case 48..<56: return .mkdir(path)
        case 56..<61:
            // A voice file cut short is no longer valid AMR for the server's rules, whose frame
            // checks the model does not know: voice is cut to nothing or to a broken header only.
            let sizes: [UInt64] = path.hasPrefix("voice/") ? [0, 2] : [0, 2, 100, 5000]
            return .truncate(path, sizes[Int(random.next() % UInt64(sizes.count))])
        case 61..<66: return .unlink(path)
        case 66..<72: return .rmdir(path)
        case 72..<88: return .rename(path, other)
        case 88..<91: return .serverForgets(path)
        case 91..<94: return .advance(Int64(random.next() % UInt64(2 * 86400)))
        case 94..<97: return .sweep
        default: return .remount
        }
    }

    /// Where `count` bytes are cut into up to four pieces, in the random order they are written.
    static func pieces(_ random: inout SplitMix64, of count: Int) -> [Range<Int>] {
        let cuts = (0..<3).map { _ in Int(random.next() % UInt64(count + 1)) }
        let bounds = ([0] + cuts + [count]).sorted()
        var pieces = zip(bounds, bounds.dropFirst()).map { $0..<$1 }.filter { !$0.isEmpty }
        pieces.shuffle(using: &random)
        return pieces
    }

    /// Bytes the rules accept for the upload folder `path` is in: a JPEG or an AMR of random length.
    static func content(_ random: inout SplitMix64, for path: String) -> [UInt8] {
        if path.hasPrefix("voice/") { return Samples.amr(frames: 1 + Int(random.next() % 40)) }
        let head: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        return head + (0..<Int(random.next() % 3000)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    /// Applies `operation` through the filesystem's methods; returns the errno it failed with.
    static func apply(
        _ operation: ModelOperation, to core: inout CoreFixture, service: InMemoryMediaService, clock: ManualClock
    ) async throws -> Int32? {
        switch operation {
        case .write(let path, let bytes):
            return await copyAndSync(bytes, to: path, core)
        case .writeInPieces(let path, let bytes, let pieces):
            return await afterSync(core) {
                let handle = try await core.openForWriting(path)
                for piece in pieces {
                    try await core.write(Array(bytes[piece]), to: handle, at: Int64(piece.lowerBound))
                }
                try await core.close(handle)
            }
        case .writeWithReaderOpen(let path, let bytes):
            // A reader opens the new file before the bytes are written and closes first: its
            // close must neither upload nor lose what the writer's close uploads.
            return await afterSync(core) {
                let writer = try await core.openForWriting(path)
                guard let inode = try await core.inode(path) else { throw FUSEError.notFound }
                let reader = try await core.fileSystem.open(inode: inode, flags: O_RDONLY, caller: CoreFixture.caller)
                try await core.write(bytes, to: writer)
                try await core.close(reader.handle)
                try await core.close(writer)
            }
        case .truncate(let path, let size):
            return await afterSync(core) { try await core.truncate(path, to: size) }
        case .failedUpload(let path, let bytes):
            // Every try of these bytes in this step fails (the step's `sync` may try it again);
            // the next step's tries pass.
            service.failUploads(of: bytes, with: APIError(errcode: -1, errmsg: "system error"))
            return await copyAndSync(bytes, to: path, core)
        case .mkdir(let path):
            return await CoreFixture.errno { try await core.mkdir(path) }
        case .unlink(let path):
            return await CoreFixture.errno { try await core.unlink(path) }
        case .rmdir(let path):
            return await CoreFixture.errno { try await core.rmdir(path) }
        case .rename(let from, let to):
            return await CoreFixture.errno { try await core.rename(from, to: to) }
        case .serverForgets(let path):
            // The server deletes the file's media early and this host's cache lets the bytes go:
            // the next read asks the server, which answers 40007.
            return await CoreFixture.errno {
                if let sidecar = try? await core.read(path + ".media_id") {
                    let id = String(decoding: sidecar.dropLast(), as: UTF8.self)
                    service.forget(id)
                    try ContentCache(root: core.directory + "/cache").removeContent(for: id)
                }
                _ = try await core.read(path)
            }
        case .advance(let seconds):
            clock.advance(seconds: seconds)
            return nil
        case .sweep:
            await core.fileSystem.sweep()
            return nil
        case .remount:
            core = try await core.reopened()
            return nil
        }
    }

    /// `cp`, then (in background mode) `wxmediafs sync`, so the upload has ended before the
    /// next step, as the model's has.
    static func copyAndSync(_ bytes: [UInt8], to path: String, _ core: CoreFixture) async -> Int32? {
        await afterSync(core) { try await core.copy(bytes, to: path) }
    }

    /// The errno `body` fails with, once (in background mode) the uploads it queued have ended.
    static func afterSync(_ core: CoreFixture, _ body: () async throws -> Void) async -> Int32? {
        let code = await CoreFixture.errno(body)
        if core.settings.uploadMode == .background { _ = await core.fileSystem.syncQueuedUploads() }
        return code
    }

    // MARK: Comparison

    /// The first difference between what the filesystem shows and what the model holds.
    static func compare(_ core: CoreFixture, _ model: FileTreeModel, service: InMemoryMediaService, now: Int64)
        async throws -> String?
    {
        for folder in model.folders.sorted() {
            var expected: Set<String> = []
            for (name, node) in model.children(of: folder) {
                expected.insert(name)
                if case .file(let file) = node, file.uploadedAt != nil { expected.insert(name + ".media_id") }
            }
            let listed = try await core.list(folder)
            guard Set(listed) == expected, listed.count == expected.count else {
                return "\(folder) lists \(listed.sorted()), model has \(expected.sorted())"
            }
        }
        for (path, file) in model.files.sorted(by: { $0.key < $1.key }) {
            guard let attributes = try await core.attributes(path) else { return "\(path) is missing" }
            guard attributes.size == UInt64(file.bytes.count) else {
                return "\(path) has size \(attributes.size), model \(file.bytes.count)"
            }
            guard try await core.read(path) == file.bytes else { return "\(path) reads other bytes" }
            guard file.uploadedAt != nil else { continue }
            let id = String(decoding: try await core.read(path + ".media_id").dropLast(), as: UTF8.self)
            guard service.stored(id)?.bytes == file.bytes else {
                return "\(path): the server holds other bytes under \(id)"
            }
        }
        return nil
    }
}

enum ModelOperation: CustomStringConvertible, Sendable {
    case write(String, [UInt8])
    /// The same bytes as `write`, written through one handle in pieces out of order.
    case writeInPieces(String, [UInt8], pieces: [Range<Int>])
    /// A `write` while a second handle has the file open for reading.
    case writeWithReaderOpen(String, [UInt8])
    /// `truncate -s` by path: the bytes cut or zero-extended, uploaded again.
    case truncate(String, UInt64)
    /// A write the rules accept whose upload the server fails (errcode -1, EIO).
    case failedUpload(String, [UInt8])
    case mkdir(String)
    case unlink(String)
    case rmdir(String)
    case rename(String, String)
    /// The server deletes a file's media before its time, its cached bytes go, and it is read:
    /// 40007, and the name is gone.
    case serverForgets(String)
    case advance(Int64)
    case sweep
    case remount

    var description: String {
        switch self {
        case .write(let path, let bytes): "write \(path) (\(bytes.count) bytes)"
        case .writeInPieces(let path, let bytes, let pieces): "write \(path) (\(bytes.count) bytes) in pieces \(pieces)"
        case .writeWithReaderOpen(let path, let bytes): "write \(path) (\(bytes.count) bytes) with a reader open"
        case .truncate(let path, let size): "truncate \(path) to \(size)"
        case .failedUpload(let path, let bytes): "failed upload \(path) (\(bytes.count) bytes)"
        case .mkdir(let path): "mkdir \(path)"
        case .unlink(let path): "unlink \(path)"
        case .rmdir(let path): "rmdir \(path)"
        case .rename(let from, let to): "rename \(from) \(to)"
        case .serverForgets(let path): "server forgets \(path)"
        case .advance(let seconds): "advance \(seconds) s"
        case .sweep: "sweep"
        case .remount: "remount"
        }
    }
}

/// What a user should see: upload folders holding folders and files; a file is a placeholder
/// (empty, never uploaded) or bytes uploaded at a time, hidden once `ttl` has passed.
struct FileTreeModel {
    struct File: Equatable {
        var bytes: [UInt8]
        var uploadedAt: Int64?
        /// Background mode: its upload failed for a reason that may pass; the next `sync`
        /// uploads it.
        var failedForNow = false
    }

    enum Node: Equatable {
        case folder
        case file(File)
    }

    let ttl: Int64
    /// Background mode: a file whose upload fails stays, with its new bytes and no sidecar,
    /// until the `sync` of a later step (every close is followed by one) tries it again.
    let failedUploadsStay: Bool
    private var nodes: [String: Node] = [:]

    init(ttl: Int64, failedUploadsStay: Bool = false) {
        self.ttl = ttl
        self.failedUploadsStay = failedUploadsStay
        for type in ModelRun.types { nodes[type.rawValue] = .folder }
    }

    var folders: [String] { nodes.compactMap { $0.value == .folder ? $0.key : nil } }

    var files: [String: File] {
        nodes.reduce(into: [:]) { result, item in if case .file(let file) = item.value { result[item.key] = file } }
    }

    func children(of folder: String) -> [(String, Node)] {
        nodes.compactMap { path, node in
            guard let slash = path.lastIndex(of: "/"), path[..<slash] == folder else { return nil }
            return (String(path[path.index(after: slash)...]), node)
        }
    }

    static func parent(_ path: String) -> String { String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }

    static func type(_ path: String) -> Substring { path.prefix { $0 != "/" } }

    /// Applies `operation` at time `now`; returns the errno the filesystem should answer with.
    /// In background mode the steps that close a file end with `sync`, which first tries again
    /// the uploads that failed for now in earlier steps.
    mutating func apply(_ operation: ModelOperation, now: Int64) -> Int32? {
        let code = applyAlone(operation, now: now)
        switch operation {
        case .write, .writeInPieces, .writeWithReaderOpen, .truncate, .failedUpload:
            guard failedUploadsStay else { break }
            for (path, node) in nodes {
                guard case .file(var file) = node, file.failedForNow else { continue }
                // The step's own failing bytes fail again, whatever file holds them.
                if case .failedUpload(_, let failing) = operation, file.bytes == failing { continue }
                (file.uploadedAt, file.failedForNow) = (now, false)
                nodes[path] = .file(file)
            }
        default: break
        }
        return code
    }

    private mutating func applyAlone(_ operation: ModelOperation, now: Int64) -> Int32? {
        switch operation {
        case .write(let path, let bytes), .writeInPieces(let path, let bytes, _),
            .writeWithReaderOpen(let path, let bytes):
            return write(path, bytes, now: now, serverFails: false)
        case .truncate(let path, let size):
            switch nodes[path] {
            case nil: return ENOENT
            case .folder: return EISDIR
            case .file(let file):
                guard Int(size) != file.bytes.count else { return nil }
                let cut = Int(size) <= file.bytes.count
                let bytes =
                    cut
                    ? Array(file.bytes.prefix(Int(size)))
                    : file.bytes + Array(repeating: 0, count: Int(size) - file.bytes.count)
                return write(path, bytes, now: now, serverFails: false)
            }
        case .failedUpload(let path, let bytes):
            return write(path, bytes, now: now, serverFails: true)
        case .mkdir(let path):
            guard nodes[path] == nil else { return EEXIST }
            nodes[path] = .folder
            return nil
        case .unlink(let path):
            switch nodes[path] {
            case nil: return ENOENT
            case .folder: return EISDIR
            case .file:
                nodes[path] = nil
                return nil
            }
        case .rmdir(let path):
            switch nodes[path] {
            case nil: return ENOENT
            case .file: return ENOTDIR
            case .folder:
                guard children(of: path).isEmpty else { return ENOTEMPTY }
                nodes[path] = nil
                return nil
            }
        case .rename(let from, let to):
            return rename(from, to)
        case .serverForgets(let path):
            switch nodes[path] {
            case nil: return ENOENT
            case .folder: return EISDIR
            case .file(let file):
                // A file never uploaded (or whose upload failed, in background mode) is read
                // from its local bytes.
                guard file.uploadedAt != nil else { return nil }
                nodes[path] = nil
                return ENOENT
            }
        case .advance:
            expire(now: now)
            return nil
        case .sweep, .remount:
            return nil
        }
    }

    private mutating func write(_ path: String, _ bytes: [UInt8], now: Int64, serverFails: Bool) -> Int32? {
        if nodes[path] == .folder { return EISDIR }
        let accepted = bytes.isEmpty || Self.passesRules(bytes, in: path)
        if accepted, serverFails, !bytes.isEmpty, failedUploadsStay {
            // close() succeeded once the file was queued; the upload failed after it.
            nodes[path] = .file(File(bytes: bytes, uploadedAt: nil, failedForNow: true))
            return nil
        }
        if !accepted || (serverFails && !bytes.isEmpty) {
            // A new name goes away; an existing file keeps what it had.
            return accepted ? EIO : EINVAL
        }
        nodes[path] = .file(File(bytes: bytes, uploadedAt: bytes.isEmpty ? nil : now))
        return nil
    }

    /// The local rules, as far as this model's contents go: JPEG magic in image/, AMR in voice/.
    static func passesRules(_ bytes: [UInt8], in path: String) -> Bool {
        type(path) == "image" ? bytes.starts(with: [0xFF, 0xD8, 0xFF]) : bytes.starts(with: Array("#!AMR\n".utf8))
    }

    private mutating func rename(_ from: String, _ to: String) -> Int32? {
        guard let source = nodes[from] else { return ENOENT }
        guard Self.type(from) == Self.type(to) else { return EXDEV }
        let target = Self.parent(to)
        if source == .folder, target == from || target.hasPrefix(from + "/") { return EINVAL }
        if let existing = nodes[to] {
            if from == to { return nil }
            switch (source, existing) {
            case (.folder, .folder): if !children(of: to).isEmpty { return ENOTEMPTY }
            case (.file, .folder): return EISDIR
            case (.folder, .file): return ENOTDIR
            case (.file, .file): break
            }
        }
        // The node and everything under it move.
        let moved = nodes.filter { $0.key == from || $0.key.hasPrefix(from + "/") }
        for (path, _) in moved { nodes[path] = nil }
        for (path, node) in moved { nodes[to + path.dropFirst(from.count)] = node }
        return nil
    }

    private mutating func expire(now: Int64) {
        nodes = nodes.filter { _, node in
            guard case .file(let file) = node, let uploadedAt = file.uploadedAt else { return true }
            return uploadedAt + ttl > now
        }
    }
}

/// A small seeded generator (SplitMix64), so a failing sequence replays from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
