import Foundation
import Hummingbird
import WeChatMedia

/// `/_emulator/...`: test-only controls, mounted only with `--test-controls`.
extension EmulatorAPI {
    func addTestControls(to router: Router<EmulatorRequestContext>) {
        let group = router.group("_emulator")
        group.get("clock") { _, _ in APIResponses.json(["now": clock.now]) }
        group.post("clock/advance") { request, _ in
            guard let seconds = request.query("seconds").flatMap(Int64.init) else {
                return APIResponses.json(["error": "seconds=N is required"], status: .badRequest)
            }
            clock.advance(bySeconds: seconds)
            return APIResponses.json(["now": clock.now])
        }
        group.get("faults") { _, _ in
            APIResponses.json(["injected": faults.injectedCounts])
        }
        group.post("faults") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            struct Rules: Decodable { var rules: [FaultRule] }
            guard let rules = try? JSONDecoder().decode(Rules.self, from: Data(body.readableBytesView)) else {
                return APIResponses.json(
                    ["error": "expected {\"rules\":[{\"endpoint\":...,\"kind\":...,\"fraction\":...}]}"],
                    status: .badRequest)
            }
            faults.set(rules.rules)
            return APIResponses.json(["rules": rules.rules.count])
        }
        group.delete("faults") { _, _ in
            faults.set([])
            return APIResponses.json(["rules": 0])
        }
        group.post("tokens/retire") { _, _ in
            APIResponses.json(["retired": await tokens.retireAll()])
        }
        group.get("counters") { _, _ in APIResponses.json(counters.snapshot) }
        // {"ips":["192.0.2.1"],"errcode":61004}: only those callers may call the API; the rest are
        // refused with errcode (61004 unless given; 40164 as older docs have it).
        group.post("whitelist") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            struct Whitelist: Decodable {
                var ips: [String]
                var errcode: Int?
            }
            guard let list = try? JSONDecoder().decode(Whitelist.self, from: Data(body.readableBytesView)),
                let refusal = WeChatErrorCode(rawValue: list.errcode ?? WeChatErrorCode.clientIPNotRegistered.rawValue)
            else {
                return APIResponses.json(["error": "expected {\"ips\":[...],\"errcode\":61004}"], status: .badRequest)
            }
            access.setWhitelist(Set(list.ips), refusal: refusal)
            return APIResponses.json(["ips": list.ips.count])
        }
        group.delete("whitelist") { _, _ in
            access.setWhitelist(nil)
            return APIResponses.json(["ips": "any"])
        }
        // A frozen AppSecret: token requests with it get 40243 until it is unfrozen (DELETE).
        group.post("secret/freeze") { _, _ in
            access.setSecretFrozen(true)
            return APIResponses.json(["frozen": true])
        }
        group.delete("secret/freeze") { _, _ in
            access.setSecretFrozen(false)
            return APIResponses.json(["frozen": false])
        }
        // {"publish_status":3,"fail_idx":[1]}: the next submitted publish ends so (2, 3 or 4).
        group.post("publish/next") { request, _ in
            let body = try await request.body.collect(upTo: 64 * 1024)
            struct Next: Decodable {
                var publish_status: Int
                var fail_idx: [Int]?
            }
            guard let next = try? JSONDecoder().decode(Next.self, from: Data(body.readableBytesView)),
                PublishOutcome.failures.contains(next.publish_status),
                (next.fail_idx ?? []).allSatisfy({ (1...DraftLimits.articles).contains($0) })
            else {
                return APIResponses.json(
                    ["error": "expected {\"publish_status\":2|3|4,\"fail_idx\":[1..8, ...]}"], status: .badRequest)
            }
            await drafts.setNextOutcome(PublishOutcome(status: next.publish_status, failIndexes: next.fail_idx ?? []))
            return APIResponses.json(["publish_status": next.publish_status])
        }
        // ?seconds=N: how long jobs submitted from now on stay publishing.
        group.post("publish/seconds") { request, _ in
            guard let seconds = request.query("seconds").flatMap(Int64.init), seconds >= 0 else {
                return APIResponses.json(["error": "seconds=N (0 or more) is required"], status: .badRequest)
            }
            await drafts.setPublishSeconds(seconds)
            return APIResponses.json(["seconds": seconds])
        }
        group.post("reset") { _, _ in
            await store.reset()
            await material.reset()
            await drafts.reset()
            await tokens.reset()
            faults.set([])
            counters.reset()
            access.reset()
            await quota.reset()
            clock.reset()
            return APIResponses.json(["reset": true])
        }
    }
}
