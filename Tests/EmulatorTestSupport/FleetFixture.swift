import Foundation
import WeChatMedia

/// Several hosts of one fleet on this machine: one emulator, one PostgreSQL database of the
/// throwaway cluster, and `hosts` real mounts of the same account, each with its own mountpoint
/// and cache dir, all with `--catalog-url`. `with` stops every mount and drops the database,
/// also when the body throws.
public struct FleetFixture: Sendable {
    public let emulator: EmulatorFixture
    public let database: TestDatabase
    public let hosts: [MountFixture]
    public let folders: [String]
    public let arguments: [String]
    /// The port the hosts reach the database by (a proxy's), when not the cluster's own.
    public let catalogPort: Int?

    public static func with<T>(
        hosts count: Int = 2, arguments: [String] = [], catalogPort: Int? = nil, limits: LimitsProfile = .seed,
        _ body: (FleetFixture) async throws -> T
    ) async throws -> T {
        let database = try await TestPostgres.cluster().makeDatabase()
        do {
            let result = try await EmulatorFixture.with(limits: limits) { emulator in
                let folders = try (0..<count).map { _ in try TemporaryDirectory.make() }
                defer { folders.forEach(MountFixture.cleanUp) }
                var hosts: [MountFixture] = []
                do {
                    for folder in folders {
                        hosts.append(
                            try await startHost(
                                emulator: emulator, database: database, folder: folder, arguments: arguments,
                                catalogPort: catalogPort))
                    }
                    let fleet = FleetFixture(
                        emulator: emulator, database: database, hosts: hosts, folders: folders, arguments: arguments,
                        catalogPort: catalogPort)
                    let result = try await body(fleet)
                    for host in hosts { try await host.stop() }
                    return result
                } catch {
                    for host in hosts { try? await host.stop() }
                    throw error
                }
            }
            await database.drop()
            return result
        } catch {
            await database.drop()
            throw error
        }
    }

    /// Mounts one host of the fleet in `folder` (again, for a remount after a kill).
    public static func startHost(
        emulator: EmulatorFixture, database: TestDatabase, folder: String, arguments: [String],
        catalogPort: Int? = nil
    ) async throws -> MountFixture {
        try await MountFixture.start(
            emulator: emulator, folder: folder,
            // The default TLS mode, prefer: the test cluster offers none, so plain TCP.
            arguments: ["--catalog-url", database.url(port: catalogPort)] + arguments,
            environment: ["PGPASSWORD": database.password])
    }

    /// Mounts host `index` again in its folder (after it was killed or stopped).
    public func restartHost(_ index: Int) async throws -> MountFixture {
        try await Self.startHost(
            emulator: emulator, database: database, folder: folders[index], arguments: arguments,
            catalogPort: catalogPort)
    }
}
