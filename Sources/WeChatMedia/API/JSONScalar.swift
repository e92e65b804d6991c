/// One field of a JSON reply as the server sent it, kept raw so that the code using the field
/// judges it (and can say what arrived) instead of the decoder silently dropping what does not fit.
public enum JSONScalar: Sendable, Equatable, Decodable, CustomStringConvertible {
    /// A JSON integer that fits in 64 bits.
    case integer(Int64)
    /// A JSON string.
    case text(String)
    /// Anything else (a fraction, an integer past 64 bits, a boolean, an object, an array),
    /// described for error messages.
    case other(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let number = try? container.decode(Double.self) {
            self = .other("\(number)")
        } else if let flag = try? container.decode(Bool.self) {
            self = .other("\(flag)")
        } else if container.decodeNil() {
            self = .other("null")
        } else {
            self = .other("an object or array")
        }
    }

    /// The value if it is an integer, or a string of decimal digits (some servers quote numbers),
    /// that fits in 64 bits; nil for anything else.
    public var integerValue: Int64? {
        switch self {
        case .integer(let value): value
        case .text(let text): Self.isDecimalDigits(text) ? Int64(text) : nil
        case .other: nil
        }
    }

    /// The value for an error message: strings quoted and cut short, so neither a 100 kB value nor
    /// a credential-shaped one ends up whole in a log line.
    public var description: String {
        switch self {
        case .integer(let value): "\(value)"
        case .text(let text): "\"\(Self.shortened(text))\""
        case .other(let description): Self.shortened(description)
        }
    }

    /// At most `limit` characters of `text`, with the length in bytes when it was cut.
    /// Control characters become `?`, so the value cannot break a log line in two.
    public static func shortened(_ text: String, limit: Int = 40) -> String {
        let printable = String(
            String.UnicodeScalarView(
                text.unicodeScalars.prefix(limit).map { $0.properties.generalCategory == .control ? "?" : $0 }))
        guard text.unicodeScalars.count > limit else { return Redaction.redact(printable) }
        return Redaction.redact(printable) + "... (\(text.utf8.count) bytes)"
    }

    private static func isDecimalDigits(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}
