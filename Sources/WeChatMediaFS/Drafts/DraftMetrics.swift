import CoreMetrics

/// What the article folders tell Prometheus: builds by outcome, and the publishing polls
/// against the day's budget (the polls spend the account's 100 `freepublish/get` a day).
enum DraftMetrics {
    static func built(failed: Bool) {
        Counter(label: "wxmediafs_draft_builds_total", dimensions: [("outcome", failed ? "failed" : "built")])
            .increment()
    }

    static func polled() { Counter(label: "wxmediafs_publish_polls_total").increment() }

    /// The day's polls left, and the jobs still publishing, after a round of polls.
    static func budget(remaining: Int, publishing: Int) {
        Gauge(label: "wxmediafs_publish_poll_budget_remaining").record(remaining)
        Gauge(label: "wxmediafs_publishing_jobs").record(publishing)
    }
}
