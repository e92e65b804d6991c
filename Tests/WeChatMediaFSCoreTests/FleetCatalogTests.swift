import EmulatorTestSupport
import FleetCatalog
import Foundation
import Logging
import MediaCatalog
import PostgresNIO
import Testing
import WeChatMedia

/// The fleet catalog's own promises, two hosts' catalogs in one process on one database of
/// the throwaway cluster.
@Suite("Fleet catalog")
struct FleetCatalogTests {
    static func open(_ database: TestDatabase, host: String) async throws -> PostgresCatalog {
        try await PostgresCatalog.open(
            PostgresCatalogConfiguration(
                url: database.url, password: database.password, tls: .disable, account: "wxsweep", hostKey: host),
            logger: Logger(label: "test.fleet-catalog"))
    }

    static func expiredEntry(_ name: String, bornAt: Int64) -> CatalogEntry {
        CatalogEntry(
            folder: .top(.image), name: name, state: .uploaded, mediaID: "id-" + name, format: .jpeg, size: 1,
            createdAt: bornAt, mode: 0o644, uid: 0, gid: 0, accessTime: 0, modificationTime: 0, changeTime: 0)
    }

    static func connect(_ database: TestDatabase) async throws -> PostgresConnection {
        let server = database.server
        return try await PostgresConnection.connect(
            configuration: .init(
                host: server.host, port: server.port, username: server.user, password: server.password,
                database: database.name, tls: .disable),
            id: 9, logger: Logger(label: "test.fleet-catalog"))
    }

    @Test func hostsStartingAtOnceMigrateTheSchemaOnce() async throws {
        let database = try await TestPostgres.cluster().makeDatabase()
        let catalogs = try await withThrowingTaskGroup(of: PostgresCatalog.self) { group in
            for index in 0..<4 { group.addTask { try await Self.open(database, host: "host\(index)") } }
            var opened: [PostgresCatalog] = []
            for try await catalog in group { opened.append(catalog) }
            return opened
        }
        #expect(catalogs.count == 4, "every host connected")
        let connection = try await Self.connect(database)
        let rows = try await connection.query(
            "SELECT count(*), max(version) FROM wxmediafs_wxsweep.schema_version", logger: Logger(label: "test"))
        var versions: [(Int64, Int32)] = []
        for try await row in rows.decode((Int64, Int32).self) { versions.append(row) }
        try await connection.close()
        #expect(
            versions.count == 1 && versions[0].0 == 6 && versions[0].1 == 6,
            "each migration ran once: \(versions)")
        for catalog in catalogs { await catalog.close() }
        await database.drop()
    }

    @Test func oneHostSweepsAtATimeAndTheOthersLearnWhatWent() async throws {
        let database = try await TestPostgres.cluster().makeDatabase()
        let first = try await Self.open(database, host: "first")
        let second = try await Self.open(database, host: "second")
        let now: Int64 = 1_800_000_000
        let old = try await first.insert(Self.expiredEntry("old.jpg", bornAt: now - 4 * 86400))
        let oldID = try #require(old.id)

        // Another host is sweeping: it holds the sweep lock in a transaction of its own.
        let holder = try await Self.connect(database)
        let logger = Logger(label: "test.sweep-lock")
        try await holder.query("BEGIN", logger: logger).drainRows()
        try await holder.query(
            "SELECT pg_advisory_xact_lock(hashtext('wxmediafs.sweep'), hashtext('wxmediafs_wxsweep'))", logger: logger
        ).drainRows()
        let skipped = try await second.purgeExpired(
            bornAtOrBefore: now - 3 * 86400, plausible: ServerTime.plausibleRange, forgetBefore: now - 6 * 86400,
            now: now)
        #expect(skipped.entries.isEmpty, "a host that does not get the lock sweeps nothing")
        #expect(try await first.entry(id: oldID) != nil)

        try await holder.query("COMMIT", logger: logger).drainRows()
        try await holder.close()
        let swept = try await second.purgeExpired(
            bornAtOrBefore: now - 3 * 86400, plausible: ServerTime.plausibleRange, forgetBefore: now - 6 * 86400,
            now: now)
        #expect(swept.entries.map(\.name) == ["old.jpg"])
        // The other host's cached read of it goes when the change feed brings the removal.
        let gone = try await eventually(within: .seconds(2)) { try await first.entry(id: oldID) == nil }
        #expect(gone, "gone for the other host too, within 2 s")

        // The first host hears of it through the change feed (what drops its kernel's names).
        let changes = try #require(first.foreignChanges())
        let heard = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await change in changes where change.entryID == oldID && change.location == nil { return true }
                return false
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(5))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(heard, "the removal reached the other host's feed within 5 s")
        await first.close()
        await second.close()
        await database.drop()
    }
}

extension PostgresRowSequence {
    fileprivate func drainRows() async throws { for try await _ in self {} }
}
