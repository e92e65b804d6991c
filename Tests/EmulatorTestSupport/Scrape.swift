import Foundation

/// One scrape of a Prometheus endpoint, parsed by `prometheus_client`'s text parser (PyPI; the
/// test script installs it, and `WXMEDIAFS_PYTHONPATH` says where).
public struct Scrape: Sendable {
    public struct Sample: Decodable, Sendable {
        public var family: String
        public var type: String
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public let contentType: String
    public let samples: [Sample]

    /// Scrapes `url`; throws with the parser's words if it refuses the text.
    public static func fetch(_ url: String) async throws -> Scrape {
        let environment = ProcessInfo.processInfo.environment
        let pythonPath = [environment["WXMEDIAFS_PYTHONPATH"], environment["PYTHONPATH"]]
            .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        let result = try await Command.run(
            "/usr/bin/env", ["PYTHONPATH=\(pythonPath)", "python3", Samples.path("scrape_metrics.py"), url])
        guard result.status == 0 else {
            throw FixtureError(
                "scrape of \(url) failed (prometheus_client missing? run mount-scripts/test.sh): \(result.stderr)")
        }
        struct Document: Decodable {
            var content_type: String
            var samples: [Sample]
        }
        let document = try JSONDecoder().decode(Document.self, from: Data(result.stdout.utf8))
        return Scrape(contentType: document.content_type, samples: document.samples)
    }

    /// The sum of the samples named `name` whose labels include `labels`; nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.isEmpty ? nil : matching.map(\.value).reduce(0, +)
    }

    /// The type the parser gave the family `family` (`counter`, `gauge`, `histogram`).
    public func type(of family: String) -> String? { samples.first { $0.family == family }?.type }
}
