/// Media ids and access tokens: opaque strings of `[A-Za-z0-9_-]`. Anything else is refused
/// before it reaches a URL, a path or a request.
public enum OpaqueID {
    public static func isWellFormed(_ value: String, maxLength: Int) -> Bool {
        (1...maxLength).contains(value.utf8.count) && value.utf8.allSatisfy(isAllowed)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}
