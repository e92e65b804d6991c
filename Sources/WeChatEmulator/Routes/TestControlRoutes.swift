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
        group.post("reset") { _, _ in
            await store.reset()
            await material.reset()
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
