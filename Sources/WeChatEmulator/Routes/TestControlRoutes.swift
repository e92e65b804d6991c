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
        group.post("reset") { _, _ in
            await store.reset()
            await tokens.reset()
            faults.set([])
            counters.reset()
            clock.reset()
            return APIResponses.json(["reset": true])
        }
    }
}
