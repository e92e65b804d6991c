import ServiceLifecycle

/// Something the mount opened (the emulator, the HTTP client, the catalog, the metrics
/// server, a temporary folder) as a service of the mount's group: kept until the group shuts
/// down, then closed. The group closes its services in the reverse order of their opening, on
/// every way out: an unmount, a signal, or a step of the set-up that failed.
struct OpenedResource: Service, CustomStringConvertible {
    let description: String
    let close: @Sendable () async -> Void

    init(_ description: String, close: @escaping @Sendable () async -> Void) {
        self.description = description
        self.close = close
    }

    func run() async {
        // Cancelled (the group's own deadline passed) is a reason to close too.
        try? await gracefulShutdown()
        await close()
    }
}
