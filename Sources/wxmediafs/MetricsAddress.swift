import ArgumentParser

/// Where the metrics endpoint listens: `HOST:PORT`, with an IPv6 host in brackets
/// (`[::1]:9464`); port 0 picks a free one, which the log and `status` then name.
struct MetricsAddress: ExpressibleByArgument, Sendable, Equatable {
    let host: String
    let port: Int

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":") else { return nil }
        var host = String(argument[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("/"), let port = Int(argument[argument.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        self.host = host
        self.port = port
    }

    /// Reached only from this machine: scrapes of it need no network exposure.
    var isLoopback: Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || (host.hasPrefix("127.") && host.split(separator: ".").count == 4)
    }

    /// `http://HOST:PORT` as a URL (IPv6 in brackets).
    static func url(host: String, port: Int) -> String {
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
