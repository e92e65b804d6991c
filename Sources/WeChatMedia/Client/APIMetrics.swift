import CoreMetrics

/// The client's numbers for an operator's dashboard, through swift-metrics: the backend the
/// process bootstrapped receives them (Prometheus in a mount given `--metrics-address`); without
/// one they go nowhere. Label values are a handful of fixed words, never ids or names.
enum APIMetrics {
    /// Every request sent, by kind, and whether it failed in transport or with a non-200 status.
    static func requestSent(_ kind: RequestStatistics.Kind, failed: Bool) {
        Counter(
            label: "wxmediafs_api_requests_total",
            dimensions: [("kind", kind.rawValue), ("result", failed ? "failed" : "ok")]
        ).increment()
    }

    /// A token endpoint's answer: errcode 0 for a token, the server's errcode, or nil when no
    /// answer could be read (refused connection, timeout, not JSON).
    static func tokenFetched(errcode: Int?) {
        Counter(
            label: "wxmediafs_token_fetches_total",
            dimensions: [("errcode", errcode.map(String.init) ?? "none")]
        ).increment()
    }

    /// Another try of `operation` ("upload", "download", "token", ...) after a transient failure.
    static func retried(_ operation: String) {
        Counter(label: "wxmediafs_api_retries_total", dimensions: [("operation", operation)]).increment()
    }
}
