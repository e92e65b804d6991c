import Deadlines
import Synchronization

/// One kind of misbehaviour to inject on an endpoint, set through `/_emulator/faults`.
public struct FaultRule: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// HTTP 200 with `{"errcode":-1,"errmsg":"system error"}`.
        case systemError = "errcode"
        /// HTTP 200 with `{"errcode":45009,...}`: the account's daily quota is spent.
        case dailyQuota = "quota"
        /// HTTP 503 with an HTML page, as a load balancer sends.
        case serviceUnavailable = "http503"
        /// The connection is closed without an answer, before the request is acted on.
        case drop
        /// The request is acted on (an upload kept, a draft made), then the connection is closed
        /// without the answer: what a client sees when a server or a proxy dies mid-exchange.
        case dropAfter = "drop_after"
        /// The answer is held back by `delay_ms`, then given normally.
        case delay
        /// HTTP 200 with an HTML page where JSON or a file belongs.
        case html
        /// HTTP 200 with a body that is not JSON.
        case badJSON = "bad_json"
        /// HTTP 200 with a JSON body of 1 MiB.
        case hugeJSON = "huge_json"
        /// HTTP 200, a file's Content-Type, and an error JSON body (no Content-disposition).
        case errorAsFile = "error_as_file"
        /// The real answer's headers, then half of its body, then the connection is cut.
        case cut
        /// The real answer with a Content-Length half the body's length, all of the body sent.
        case shortLength = "short_length"
        /// The real answer with `filename="../../../tmp/wxmediafs-evil"` in Content-disposition.
        case evilFilename = "evil_filename"
        /// The real answer, its body sent one byte every `delay_ms` (default 1000).
        case trickle
    }

    /// The endpoint it applies to; nil for all of them.
    public var endpoint: EmulatorEndpoint?
    public var kind: Kind
    /// The share of matching requests hit, spread evenly (0.2 hits the 5th, 10th, 15th...), so a
    /// test sees exactly that share. A request is hit by one rule at most: rules due at once
    /// take the following requests in turn.
    public var fraction: Double
    public var delayMilliseconds: Int?

    enum CodingKeys: String, CodingKey {
        case endpoint, kind, fraction
        case delayMilliseconds = "delay_ms"
    }

    public init(endpoint: EmulatorEndpoint?, kind: Kind, fraction: Double, delayMilliseconds: Int? = nil) {
        self.endpoint = endpoint
        self.kind = kind
        self.fraction = fraction
        self.delayMilliseconds = delayMilliseconds
    }
}

/// Decides, request by request, which fault rule (if any) strikes.
final class FaultInjector: Sendable {
    private struct Armed {
        var rule: FaultRule
        var seen = 0
        var injected = 0
    }

    private let rules = Mutex<(armed: [Armed], generation: UInt64)>(([], 0))
    /// Requests held by a delay rule, woken when the rules are replaced.
    private let held = Waiters<Int, Void>()

    /// Replaces the rules; requests a delay rule holds are let go at once (a test that held
    /// uploads to see a queue lifts the hold by setting new rules).
    func set(_ newRules: [FaultRule]) {
        rules.withLock { $0 = (newRules.map { Armed(rule: $0) }, $0.generation &+ 1) }
        held.answerAll(0, with: ())
    }

    /// Holds a request for `delay`, or until the rules are replaced, or until it is cancelled.
    func hold(for delay: Duration) async {
        let generation = rules.withLock { $0.generation }
        await held.wait(for: 0, until: .now + delay, timedOut: ()) {
            self.rules.withLock { $0.generation } == generation ? nil : ()
        }
    }

    /// The fault that strikes this request, if any.
    func faults(for endpoint: EmulatorEndpoint) -> [FaultRule] {
        rules.withLock { rules in
            var hit: FaultRule?
            for index in rules.armed.indices
            where rules.armed[index].rule.endpoint == nil || rules.armed[index].rule.endpoint == endpoint {
                rules.armed[index].seen += 1
                let due = Int((Double(rules.armed[index].seen) * rules.armed[index].rule.fraction).rounded(.down))
                if hit == nil, due > rules.armed[index].injected {
                    rules.armed[index].injected += 1
                    hit = rules.armed[index].rule
                }
            }
            return hit.map { [$0] } ?? []
        }
    }

    /// How many requests each rule has struck, in the order the rules were set.
    var injectedCounts: [Int] { rules.withLock { $0.armed.map(\.injected) } }
}

/// Requests seen per endpoint, for tests that must know how many went out.
final class RequestCounters: Sendable {
    private let counts = Mutex<[String: Int]>([:])

    func record(_ endpoint: EmulatorEndpoint) {
        counts.withLock { $0[endpoint.rawValue, default: 0] += 1 }
    }

    var snapshot: [String: Int] { counts.withLock { $0 } }

    func reset() { counts.withLock { $0 = [:] } }
}
