import EmulatorTestSupport
import FUSEKit
import FleetCatalog
import Foundation
import LocalByteStore
import Logging
import MediaCatalog
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// Where a core test keeps its catalog: the embedded SQLite file, or a PostgreSQL database of
/// the throwaway cluster (a fleet of one host).
enum CatalogBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite, postgres

    var description: String { rawValue }
}

/// A `MediaFileSystem` in this process: a temporary catalog and cache, a clock the test moves,
/// and a media service (the in-process emulator's client, or the in-memory twin). Its helpers
/// send the calls the kernel would send for a path, so tests read like shell sessions.
struct CoreFixture {
    let fileSystem: MediaFileSystem
    let clock: ManualClock
    let catalog: any Catalog
    let backend: CatalogBackend
    /// The PostgreSQL database of a `.postgres` fixture (a new one per fixture).
    let database: TestDatabase?
    let directory: String
    let service: any MediaService
    /// The material library's service: the media service itself when it is the real client.
    let material: (any MaterialService)?
    let settings: MountSettings

    static let caller = Caller(uid: 1000, gid: 1000, pid: 4242)

    /// The cache dir's disk may have little room on a shared machine: no free-space floor here.
    static var defaultSettings: MountSettings {
        var settings = MountSettings(uid: 1000, gid: 1000)
        settings.minimumFreeBytes = 0
        return settings
    }

    /// A fixture in a new temporary folder, or on the catalog at `catalogPath` (a fixture file).
    static func make(
        clock: ManualClock, service: any MediaService, material: (any MaterialService)? = nil,
        catalogPath: String? = nil, settings: MountSettings = CoreFixture.defaultSettings,
        backend: CatalogBackend = .sqlite
    ) async throws -> CoreFixture {
        let directory = try TemporaryDirectory.make()
        if let catalogPath {
            try FileManager.default.copyItem(atPath: catalogPath, toPath: directory + "/catalog.sqlite")
        }
        let database = backend == .postgres ? try await TestPostgres.cluster().makeDatabase() : nil
        return try await make(
            in: directory, clock: clock, service: service, material: material ?? service as? any MaterialService,
            settings: settings, backend: backend, database: database)
    }

    /// A new filesystem on this one's catalog and cache: what a remount sees (the PostgreSQL
    /// catalog of this one is closed first, as a mount's ends with it). `service` and `material`
    /// replace the media and material services (a crashed mount's requests then never land).
    func reopened(
        service: (any MediaService)? = nil, material: (any MaterialService)? = nil, closing: Bool = true
    ) async throws -> CoreFixture {
        if closing, let shared = catalog as? PostgresCatalog { await shared.close() }
        return try await Self.make(
            in: directory, clock: clock, service: service ?? self.service, material: material ?? self.material,
            settings: settings,
            backend: backend,
            database: database)
    }

    /// Another host on this fixture's PostgreSQL database: its own cache dir and session.
    func otherHost() async throws -> CoreFixture {
        let directory = try TemporaryDirectory.make()
        return try await Self.make(
            in: directory, clock: clock, service: service, material: material, settings: settings, backend: backend,
            database: database)
    }

    private static func make(
        in directory: String, clock: ManualClock, service: any MediaService, material: (any MaterialService)?,
        settings: MountSettings, backend: CatalogBackend, database: TestDatabase?
    ) async throws -> CoreFixture {
        let catalog: any Catalog =
            if let database {
                try await PostgresCatalog.open(
                    PostgresCatalogConfiguration(
                        url: database.url, password: database.password, tls: .disable, account: "wxcore",
                        hostKey: "core-test:" + directory),
                    logger: Logger(label: "test.core.catalog"))
            } else {
                try SQLiteCatalog(path: directory + "/catalog.sqlite")
            }
        let mountSettings = settings
        var logger = Logger(label: "test.core")
        logger.logLevel = .critical
        let fileSystem = MediaFileSystem(
            catalog: catalog, cache: try ContentCache(root: directory + "/cache"), service: service,
            material: material, drafts: service as? any DraftService, settings: mountSettings, clock: clock,
            logger: logger)
        try await fileSystem.recover()
        return CoreFixture(
            fileSystem: fileSystem, clock: clock, catalog: catalog, backend: backend, database: database,
            directory: directory, service: service, material: material, settings: settings)
    }

    /// Removes the temporary folder; a PostgreSQL catalog is closed and its database dropped
    /// in the background (`close()` waits for that).
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
        if let shared = catalog as? PostgresCatalog {
            let database = database
            Task {
                await shared.close()
                await database?.drop()
            }
        }
    }

    /// One host of several on a database leaves: its folder is removed and its catalog closed;
    /// the database stays for the others.
    func leave() async {
        try? FileManager.default.removeItem(atPath: directory)
        await catalog.close()
    }

    /// Runs `body` on a new fixture and closes it after, also when `body` throws.
    static func with<T>(
        clock: ManualClock, service: any MediaService, backend: CatalogBackend,
        _ body: (CoreFixture) async throws -> T
    ) async throws -> T {
        let core = try await make(clock: clock, service: service, backend: backend)
        return try await using(core, stop: { await $0.close() }, body)
    }

    /// Removes everything the fixture made, and waits for it.
    func close() async {
        try? FileManager.default.removeItem(atPath: directory)
        if let shared = catalog as? PostgresCatalog { await shared.close() }
        await database?.drop()
    }

    // MARK: What the kernel sends for a path

    static let rootInode: Inode = 1

    /// The inode of `path` ("image/album/a.jpg"), looked up name by name; nil when absent.
    func inode(_ path: String) async throws -> Inode? {
        var inode = Self.rootInode
        for name in path.split(separator: "/") {
            guard let attributes = try await fileSystem.lookup(parent: inode, name: String(name)).attributes else {
                return nil
            }
            inode = attributes.inode
        }
        return inode
    }

    func attributes(_ path: String) async throws -> FileAttributes? {
        guard let inode = try await inode(path) else { return nil }
        return try await fileSystem.getattr(inode: inode).0
    }

    /// The parent's inode and the last name of `path`.
    func split(_ path: String) async throws -> (parent: Inode, name: String) {
        var parts = path.split(separator: "/").map(String.init)
        let name = parts.removeLast()
        guard let parent = try await inode(parts.joined(separator: "/")) else { throw FUSEError.notFound }
        return (parent, name)
    }

    /// Opens `path` for writing as `cp` does (create, or open with O_TRUNC when it exists).
    func openForWriting(_ path: String) async throws -> UInt64 {
        let (parent, name) = try await split(path)
        if let existing = try await fileSystem.lookup(parent: parent, name: name).attributes {
            return try await fileSystem.open(inode: existing.inode, flags: O_WRONLY | O_TRUNC, caller: Self.caller)
                .handle
        }
        return try await fileSystem.create(
            parent: parent, name: name, permissions: 0o644, flags: O_WRONLY | O_CREAT, caller: Self.caller
        ).1.handle
    }

    /// Writes `bytes` in 128 KiB requests, as FUSE hands them over: each answered at once on
    /// the calling thread when it can be, else by the waiting `write`.
    func write(_ bytes: [UInt8], to handle: UInt64, at start: Int64 = 0) async throws {
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + (128 << 10))
            let piece = Array(bytes[offset..<end])
            let at = start + Int64(offset)
            let atOnce = piece.withUnsafeBytes {
                fileSystem.writeAtOnce(inode: 0, handle: handle, offset: at, data: $0)
            }
            var written = atOnce ?? 0
            if atOnce == nil { written = try await fileSystem.write(inode: 0, handle: handle, offset: at, data: piece) }
            precondition(written == end - offset)
            offset = end
        }
    }

    /// The last `close()`: flush (which uploads), then release; the flush's error is what close returns.
    func close(_ handle: UInt64) async throws {
        do {
            try await fileSystem.flush(inode: 0, handle: handle, caller: Self.caller)
        } catch {
            try? await fileSystem.release(inode: 0, handle: handle)
            throw error
        }
        try await fileSystem.release(inode: 0, handle: handle)
    }

    /// `cp` of `bytes` to `path`: open, write, close (the close's error is thrown).
    func copy(_ bytes: [UInt8], to path: String) async throws {
        let handle = try await openForWriting(path)
        do {
            try await write(bytes, to: handle)
        } catch {
            try? await fileSystem.release(inode: 0, handle: handle)
            throw error
        }
        try await close(handle)
    }

    /// `truncate -s SIZE path`: a setattr of the size, by path.
    func truncate(_ path: String, to size: UInt64) async throws {
        guard let attributes = try await attributes(path) else { throw FUSEError.notFound }
        // The kernel answers a folder's truncate itself; the filesystem never sees it.
        guard attributes.kind != .directory else { throw FUSEError.isDirectory }
        let inode = attributes.inode
        _ = try await fileSystem.setattr(inode: inode, changes: AttributeChanges(size: size), caller: Self.caller)
    }

    /// `cat path`.
    func read(_ path: String) async throws -> [UInt8] {
        guard let inode = try await inode(path) else { throw FUSEError.notFound }
        let handle = try await fileSystem.open(inode: inode, flags: O_RDONLY, caller: Self.caller).handle
        let result = await Result(catching: { try await read(handle: handle, inode: inode) })
        try await fileSystem.release(inode: inode, handle: handle)
        return try result.get()
    }

    func read(handle: UInt64, inode: Inode = 0) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try await Self.bytes(
                of: fileSystem.read(inode: inode, handle: handle, offset: Int64(bytes.count), size: 128 << 10))
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    /// The bytes of a read reply, as FUSEKit would send them (and the descriptor closed after).
    static func bytes(of data: ReadData) -> [UInt8] {
        switch data {
        case .bytes(let bytes):
            return bytes
        case .file(let descriptor, let offset, let size, let closeAfterReply):
            defer { if closeAfterReply { Glibc.close(descriptor) } }
            var buffer = [UInt8](repeating: 0, count: size)
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, size, off_t(offset)) }
            return count > 0 ? Array(buffer[0..<count]) : []
        }
    }

    /// `ls -a` without . and .., in listing order, through every page.
    func list(_ path: String) async throws -> [String] {
        guard let inode = try await inode(path) else { throw FUSEError.notFound }
        var names: [String] = []
        var offset: Int64 = 0
        while true {
            let page = try await fileSystem.readdir(inode: inode, handle: 0, offset: offset)
            guard let last = page.last else { return names }
            names += page.map(\.name).filter { $0 != "." && $0 != ".." }
            offset = last.offset
        }
    }

    func mkdir(_ path: String) async throws {
        let (parent, name) = try await split(path)
        _ = try await fileSystem.mkdir(parent: parent, name: name, permissions: 0o755, caller: Self.caller)
    }

    func unlink(_ path: String) async throws {
        let (parent, name) = try await split(path)
        try await fileSystem.unlink(parent: parent, name: name)
    }

    func rmdir(_ path: String) async throws {
        let (parent, name) = try await split(path)
        try await fileSystem.rmdir(parent: parent, name: name)
    }

    func rename(_ from: String, to: String) async throws {
        let (parent, name) = try await split(from)
        let (newParent, newName) = try await split(to)
        try await fileSystem.rename(parent: parent, name: name, newParent: newParent, newName: newName, flags: [])
    }

    /// The errno a call failed with, or nil when it succeeded.
    static func errno(_ body: () async throws -> Void) async -> Int32? {
        do {
            try await body()
            return nil
        } catch let error as FUSEError {
            return error.errno
        } catch {
            return EIO
        }
    }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing call, to finish clean-up before rethrowing.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
