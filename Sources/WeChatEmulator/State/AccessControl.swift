import Synchronization
import WeChatMedia

/// The account settings a test can change through `/_emulator/`: an IP whitelist (a caller
/// outside it is refused with 61004, or 40164 as older docs have it) and a frozen AppSecret
/// (token requests with it are refused with 40243). Neither is set unless a test sets it.
final class AccessControl: Sendable {
    private struct State {
        var whitelist: Set<String>?
        var whitelistRefusal = WeChatErrorCode.clientIPNotRegistered
        var secretFrozen = false
    }

    private let state = Mutex(State())

    /// Nil when a caller at `address` may call the API, else the errcode refusing it.
    func refusal(ofCallerAt address: String?) -> WeChatErrorCode? {
        state.withLock { state in
            guard let whitelist = state.whitelist else { return nil }
            return address.map(whitelist.contains) == true ? nil : state.whitelistRefusal
        }
    }

    var secretFrozen: Bool { state.withLock { $0.secretFrozen } }

    /// Allows only `addresses` from now on (nil: anyone), refusing others with `refusal`.
    func setWhitelist(_ addresses: Set<String>?, refusal: WeChatErrorCode = .clientIPNotRegistered) {
        state.withLock {
            $0.whitelist = addresses
            $0.whitelistRefusal = refusal
        }
    }

    func setSecretFrozen(_ frozen: Bool) { state.withLock { $0.secretFrozen = frozen } }

    func reset() { state.withLock { $0 = State() } }
}
