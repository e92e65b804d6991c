import Logging
import ServiceLifecycle
import WeChatMedia

/// An emulator started in this process, for tests and `wxmediafs mount --emulator`: `start`
/// returns once it listens, `stop` shuts it down gracefully and waits until it has.
public final class RunningEmulator: Sendable {
    public let baseURL: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(baseURL: String, group: ServiceGroup, task: Task<Void, any Error>) {
        self.baseURL = baseURL
        self.group = group
        self.task = task
    }

    public static func start(configuration: EmulatorConfiguration, logger: Logger) async throws -> RunningEmulator {
        let emulator = try WeChatEmulator(configuration: configuration, logger: logger)
        let (addresses, continuation) = AsyncStream<String>.makeStream()
        var groupConfiguration = ServiceGroupConfiguration(
            services: [emulator.makeService { continuation.yield($0) }], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = WeChatEmulator.shutdownGrace
        let group = ServiceGroup(configuration: groupConfiguration)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        for await url in addresses {
            return RunningEmulator(baseURL: url, group: group, task: task)
        }
        // The server ended before listening: surface why.
        try await task.value
        throw CancellationError()
    }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
