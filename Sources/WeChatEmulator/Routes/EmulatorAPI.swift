import Hummingbird
import Logging
import WeChatMedia

/// The emulator's state and the handlers of its endpoints (one file per group of routes).
struct EmulatorAPI: Sendable {
    let configuration: EmulatorConfiguration
    let rules: MediaRules
    let clock: EmulatorClock
    let tokens: TokenIssuer
    let store: MediaStore
    let material: MaterialStore
    let drafts: DraftStore
    let faults: FaultInjector
    let counters: RequestCounters
    let quota: QuotaBook
    let access: AccessControl
    let logger: Logger

    /// Nil when the request's `access_token` may call the API (and, for a metered `api`, today's
    /// quota has room: the call is counted), else the refusal to send.
    func refusal(of request: Request, metering api: QuotaBook.Metered? = nil) async -> Response? {
        if let code = await tokens.judge(request.query("access_token")) { return APIResponses.error(code) }
        if let api, await !quota.consume(api) { return APIResponses.error(.dailyQuotaExceeded) }
        return nil
    }
}
