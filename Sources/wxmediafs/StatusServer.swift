import Foundation
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Answers `wxmediafs status` on a Unix socket in the cache dir (mode 0600, so only the user
/// who mounted can ask): every connection gets one JSON document, then is closed. It never
/// listens on the network.
struct StatusServer: Sendable {
    let path: String
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>

    /// Listens at `path` until `stop()`; `report` makes the JSON document each connection gets.
    static func start(path: String, report: @escaping @Sendable () async -> [UInt8]) async throws -> StatusServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        chmod(path, 0o600)
        let server = StatusServer(path: path, channel: channel)
        Task {
            try? await channel.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            group.addTask {
                                try? await connection.executeThenClose { _, outbound in
                                    try await outbound.write(ByteBuffer(bytes: await report()))
                                }
                            }
                        }
                    } catch {}
                }
            }
        }
        return server
    }

    func stop() async {
        try? await channel.channel.close()
        unlink(path)
    }
}
