import Hummingbird
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import WeChatMediaFS

/// Serves the mount's metrics as Prometheus text at `/metrics`: swift-metrics is bootstrapped
/// with a Prometheus registry (`bootstrap`, before anything is counted), and a small Hummingbird
/// server on the one address given renders the registry for each scrape.
struct MetricsServer: Sendable {
    /// `http://HOST:PORT/metrics`, with the port actually bound.
    let url: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Makes swift-metrics record into a new registry, for the whole process (once).
    static func bootstrap() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }

    /// Listens at `address` until `stop()`; `beforeScrape` runs before each rendering (it lets
    /// gauges fed from elsewhere, the quota, catch up). Throws if the address cannot be bound.
    static func start(
        at address: MetricsAddress, registry: PrometheusCollectorRegistry,
        beforeScrape: @escaping @Sendable () async -> Void, logger: Logger
    ) async throws -> MetricsServer {
        let router = Router()
        router.get("metrics") { _, _ in
            await beforeScrape()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let (urls, continuation) = AsyncStream<String>.makeStream()
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(
                    MetricsAddress.url(host: address.host, port: channel.localAddress?.port ?? address.port)
                        + "/metrics")
            },
            logger: quiet)
        // Stopped by a graceful shutdown, not by cancelling it (Hummingbird logs a cancelled
        // server's teardown as errors).
        let group = ServiceGroup(configuration: .init(services: [application], logger: quiet))
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        for await url in urls {
            logger.notice("serving metrics at \(url)")
            return MetricsServer(url: url, group: group, task: task)
        }
        // The server ended before listening: say why.
        try await task.value
        throw MountPoint.Problem(description: "the metrics server at \(address.host):\(address.port) did not start")
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

extension MetricsServer {
    /// The metrics server a mount asked for, or nil when `address` is nil (metrics off); the
    /// quota is asked again (in the background, at most once a minute) before each scrape.
    static func start(
        _ address: MetricsAddress?, registry: PrometheusCollectorRegistry?, quota: QuotaMonitor, _ logger: Logger
    ) async throws -> MetricsServer? {
        guard let address, let registry else { return nil }
        return try await start(
            at: address, registry: registry, beforeScrape: { _ = await quota.latest() }, logger: logger)
    }
}
