import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import WeChatMedia

/// A local server of the WeChat media API (token, stable_token, media/upload, media/get, the
/// permanent material library, media/uploadimg, the draft box and publishing),
/// faithful enough that SDKs work against it unchanged apart from their base URL.
public struct WeChatEmulator: Sendable {
    public let configuration: EmulatorConfiguration
    private let api: EmulatorAPI

    public init(configuration: EmulatorConfiguration, logger: Logger) throws {
        try FileManager.default.createDirectory(
            atPath: configuration.dataDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let clock = EmulatorClock()
        self.configuration = configuration
        self.api = EmulatorAPI(
            configuration: configuration,
            rules: MediaRules(profile: configuration.limits),
            clock: clock,
            tokens: TokenIssuer(configuration: configuration, clock: clock),
            store: try MediaStore(
                dataDirectory: configuration.dataDirectory, clock: clock,
                lifetimeSeconds: configuration.mediaLifetimeSeconds),
            material: try MaterialStore(
                dataDirectory: configuration.dataDirectory, clock: clock, caps: configuration.materialCaps),
            drafts: try DraftStore(
                dataDirectory: configuration.dataDirectory, clock: clock,
                publishSeconds: configuration.publishSeconds),
            faults: FaultInjector(),
            counters: RequestCounters(),
            quota: QuotaBook(quota: configuration.dailyQuota, clock: clock),
            access: AccessControl(),
            logger: logger)
    }

    /// Serves until signalled (SIGINT/SIGTERM), calling `onListening` with the base URL
    /// (`http://HOST:PORT`) once the port is bound.
    public func run(onListening: @escaping @Sendable (String) async -> Void = { _ in }) async throws {
        var configuration = ServiceGroupConfiguration(
            services: [makeService(onListening: onListening)], gracefulShutdownSignals: [.sigterm, .sigint],
            logger: api.logger)
        // A graceful shutdown waits for open connections; one a vanished client left open would
        // hold the exit for minutes. Past this the server is cancelled.
        configuration.maximumGracefulShutdownDuration = Self.shutdownGrace
        try await ServiceGroup(configuration: configuration).run()
    }

    /// How long SIGTERM waits for requests in flight before the emulator exits anyway.
    public static let shutdownGrace = Duration.seconds(3)

    /// The HTTP server as a ServiceLifecycle service, for callers that run their own group.
    public func makeService(onListening: @escaping @Sendable (String) async -> Void = { _ in }) -> some Service {
        let host = configuration.host
        return Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                let shownHost = host.contains(":") ? "[\(host)]" : host
                await onListening("http://\(shownHost):\(port)")
            },
            logger: api.logger)
    }

    private func makeRouter() -> Router<EmulatorRequestContext> {
        let api = self.api
        let router = Router(context: EmulatorRequestContext.self)
        router.add(middleware: RequestLogMiddleware(logger: api.logger))
        router.add(middleware: FaultMiddleware(faults: api.faults, counters: api.counters))
        router.add(middleware: AccessMiddleware(access: api.access))
        router.get("cgi-bin/token") { request, _ in await api.legacyToken(request) }
        router.post("cgi-bin/stable_token") { request, context in try await api.stableToken(request, context: context) }
        router.get("cgi-bin/stable_token") { request, context in try await api.stableToken(request, context: context) }
        router.post("cgi-bin/media/upload") { request, context in try await api.upload(request, context: context) }
        router.get("cgi-bin/media/upload") { request, context in try await api.upload(request, context: context) }
        router.get("cgi-bin/media/get") { request, _ in await api.download(request, headOnly: false) }
        router.head("cgi-bin/media/get") { request, _ in await api.download(request, headOnly: true) }
        router.post("cgi-bin/openapi/quota/get") { request, context in try await api.quotaGet(request, context: context)
        }
        router.get("cgi-bin/openapi/quota/get") { request, context in try await api.quotaGet(request, context: context)
        }
        router.post("cgi-bin/material/add_material") { request, context in
            try await api.addMaterial(request, context: context)
        }
        router.post("cgi-bin/material/get_material") { request, context in
            try await api.getMaterial(request, context: context)
        }
        router.post("cgi-bin/material/del_material") { request, context in
            try await api.deleteMaterial(request, context: context)
        }
        router.post("cgi-bin/material/batchget_material") { request, context in
            try await api.batchgetMaterial(request, context: context)
        }
        router.get("cgi-bin/material/get_materialcount") { request, _ in await api.materialCount(request) }
        router.post("cgi-bin/material/get_materialcount") { request, _ in await api.materialCount(request) }
        router.post("cgi-bin/media/uploadimg") { request, context in
            try await api.uploadArticleImage(request, context: context)
        }
        router.post("cgi-bin/draft/add") { request, context in try await api.addDraft(request, context: context) }
        router.post("cgi-bin/draft/get") { request, context in try await api.getDraft(request, context: context) }
        router.post("cgi-bin/draft/update") { request, context in try await api.updateDraft(request, context: context) }
        router.post("cgi-bin/draft/delete") { request, context in try await api.deleteDraft(request, context: context) }
        router.get("cgi-bin/draft/count") { request, _ in try await api.draftCount(request) }
        router.post("cgi-bin/draft/count") { request, _ in try await api.draftCount(request) }
        router.post("cgi-bin/draft/batchget") { request, context in
            try await api.batchgetDrafts(request, context: context)
        }
        router.post("cgi-bin/freepublish/submit") { request, context in
            try await api.submitPublish(request, context: context)
        }
        router.post("cgi-bin/freepublish/get") { request, context in
            try await api.publishStatus(request, context: context)
        }
        router.post("cgi-bin/freepublish/batchget") { request, context in
            try await api.batchgetPublished(request, context: context)
        }
        router.post("cgi-bin/freepublish/getarticle") { request, context in
            try await api.getPublished(request, context: context)
        }
        router.post("cgi-bin/freepublish/delete") { request, context in
            try await api.deletePublished(request, context: context)
        }
        router.get("s/:id/:idx") { request, context in try await api.articlePage(request, context: context) }
        router.get("cdn/material/:file") { request, context in await api.materialFile(request, context: context) }
        router.get("mmbiz/image/:file") { request, context in await api.materialFile(request, context: context) }
        router.get("mmbiz/article/:file") { request, context in await api.articleImage(request, context: context) }
        router.get("cdn/video/:file") { request, context in await api.video(request, context: context) }
        router.head("cdn/video/:file") { request, context in await api.video(request, context: context) }
        if configuration.testControls {
            api.addTestControls(to: router)
        }
        return router
    }
}
