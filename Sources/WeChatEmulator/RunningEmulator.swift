import Logging
import WeChatMedia

/// An emulator started in this process, for tests and `wxmediafs mount --emulator`: `start`
/// returns once it listens, `stop` shuts it down and waits until it has.
public final class RunningEmulator: Sendable {
    public let baseURL: String
    private let task: Task<Void, any Error>

    private init(baseURL: String, task: Task<Void, any Error>) {
        self.baseURL = baseURL
        self.task = task
    }

    public static func start(configuration: EmulatorConfiguration, logger: Logger) async throws -> RunningEmulator {
        let emulator = try WeChatEmulator(configuration: configuration, logger: logger)
        let (addresses, continuation) = AsyncStream<String>.makeStream()
        let task = Task {
            defer { continuation.finish() }
            try await emulator.run(handleSignals: false) { url in continuation.yield(url) }
        }
        for await url in addresses {
            return RunningEmulator(baseURL: url, task: task)
        }
        // The server ended before listening: surface why.
        try await task.value
        throw CancellationError()
    }

    public func stop() async {
        task.cancel()
        _ = try? await task.value
    }
}
