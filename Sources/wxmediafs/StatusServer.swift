import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Answers `wxmediafs status` on a Unix socket in the cache dir (mode 0600, so only the user
/// who mounted can ask): every connection gets one JSON document, then is closed. It never
/// listens on the network. A service of the mount's group: it answers until the group shuts
/// down, then removes its socket.
struct StatusServer: Service {
    let path: String
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let report: @Sendable () async -> [UInt8]

    /// Binds `path` (answering starts with `run()`); `report` makes the JSON document each
    /// connection gets.
    static func bind(path: String, report: @escaping @Sendable () async -> [UInt8]) async throws -> StatusServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        chmod(path, 0o600)
        return StatusServer(path: path, channel: channel, report: report)
    }

    /// Answers until a graceful shutdown; a `sync` still waiting then is cancelled (its caller
    /// sees the connection close), since the queue it waits for is stopping too.
    func run() async {
        defer { unlink(path) }
        let report = report
        try? await cancelWhenGracefulShutdown {
            try await channel.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask {
                            try? await connection.executeThenClose { _, outbound in
                                try await outbound.write(ByteBuffer(bytes: await report()))
                            }
                        }
                    }
                }
            }
        }
    }
}
