import Foundation

/// A proxy in front of the test cluster that loses a connection right after the server committed
/// a statement (`Fixtures/dropping_proxy.py`): for each of `markers`, the first statement holding
/// `statement` (say `INSERT INTO entry`) whose bytes also hold that marker is forwarded and
/// committed, and its answer never reaches the client. `with` always stops the proxy, also when
/// the body throws.
public struct DroppingProxy: Sendable {
    private let child: PythonFixtureProcess
    private let reportPath: String
    public var port: Int { child.port }

    public static func with<T>(
        inFrontOf server: TestPostgres, statement: String, markers: [String], _ body: (DroppingProxy) async throws -> T
    ) async throws -> T {
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let report = folder + "/report"
        let child = try await PythonFixtureProcess.start(
            "dropping_proxy.py", [server.host, String(server.port), statement, markers.joined(separator: ","), report])
        let proxy = DroppingProxy(child: child, reportPath: report)
        return try await using(proxy, stop: { _ in await child.stop() }, body)
    }

    /// How many connections the proxy has lost after their statement committed.
    public var drops: Int {
        let text = (try? String(contentsOfFile: reportPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").count
    }
}
