import Foundation
import Synchronization
import Testing
import WeChatMedia
import WeChatMediaFS

/// A quota source that counts how often it is asked, answering `quota` or throwing `failure`.
final class CountingQuotaSource: QuotaSource {
    private let state = Mutex<(asked: [String], failure: APIError?)>(([], nil))

    var asked: [String] { state.withLock { $0.asked } }

    func fail(with error: APIError?) { state.withLock { $0.failure = error } }

    func quota(of cgiPath: String) async throws -> APIQuota {
        let failure = state.withLock { state in
            state.asked.append(cgiPath)
            return state.failure
        }
        if let failure { throw failure }
        return APIQuota(dailyLimit: 100, used: Int64(asked.count), remain: 100 - Int64(asked.count))
    }
}

@Suite("The daily quota is asked at most once a minute")
struct QuotaMonitorTests {
    @Test func askedOnceAMinuteHoweverOftenWanted() async throws {
        let clock = ManualClock(seconds: 1_700_000_000)
        let source = CountingQuotaSource()
        let monitor = QuotaMonitor(source: source, clock: clock)
        #expect(await monitor.latest().isEmpty, "nothing known before the first answer")
        await monitor.settle()
        let first = await monitor.latest()
        #expect(first.map(\.kind) == ["upload", "download", "add_material"])
        #expect(
            first.map(\.cgiPath) == ["/cgi-bin/media/upload", "/cgi-bin/media/get", "/cgi-bin/material/add_material"])
        #expect(first.allSatisfy { $0.dailyLimit == 100 && $0.error == nil })
        #expect(source.asked.count == 3)
        for _ in 0..<20 {
            _ = await monitor.latest()
            await monitor.settle()
        }
        clock.advance(seconds: 59)
        _ = await monitor.latest()
        await monitor.settle()
        #expect(source.asked.count == 3, "59 s later: the last answer still")
        clock.advance(seconds: 1)
        _ = await monitor.latest()
        await monitor.settle()
        #expect(source.asked.count == 6, "a minute later: asked again")
        let askedAt = try #require(await monitor.latest().first?.askedAt)
        #expect(abs(askedAt.timeIntervalSince1970 - 1_700_000_060) < 0.001, "the second asking's time")
    }

    @Test func aRefusalIsShownAndNotAskedAgainWithinTheMinute() async throws {
        let clock = ManualClock(seconds: 1_700_000_000)
        let source = CountingQuotaSource()
        source.fail(with: APIError(errcode: 48001, errmsg: "api unauthorized"))
        let monitor = QuotaMonitor(source: source, clock: clock)
        _ = await monitor.latest()
        await monitor.settle()
        let refused = await monitor.latest()
        #expect(refused.allSatisfy { $0.error == "errcode 48001, api unauthorized" && $0.remain == nil })
        clock.advance(seconds: 30)
        _ = await monitor.latest()
        await monitor.settle()
        #expect(source.asked.count == 3)
        source.fail(with: nil)
        clock.advance(seconds: 30)
        _ = await monitor.latest()
        await monitor.settle()
        #expect(await monitor.latest().allSatisfy { $0.remain != nil && $0.error == nil })
    }
}
