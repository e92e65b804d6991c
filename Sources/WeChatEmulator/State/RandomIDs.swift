/// Opaque strings of the alphabet real ids and tokens use.
enum RandomIDs {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    private static let plainAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// A 64-character media id of `[A-Za-z0-9_-]`.
    static func mediaID() -> String { make(64, from: alphabet) }

    /// A 136-character access token, the length real tokens have.
    static func accessToken() -> String { make(136, from: alphabet) }

    /// The `hint: [...]` the platform appends to errmsg.
    static func hint() -> String { make(10, from: plainAlphabet) }

    private static func make(_ count: Int, from characters: [Character]) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in characters[Int.random(in: 0..<characters.count, using: &generator)] })
    }

    /// A request id in the `rid: 6087f0d0-5c83dcaa-438ebbcc` shape.
    static func requestID() -> String {
        (0..<3).map { _ in
            let hex = String(UInt32.random(in: .min ... .max), radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined(separator: "-")
    }
}
