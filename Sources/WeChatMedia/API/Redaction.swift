/// Hides credentials in text that may reach a log: the values of `access_token`, `secret` and
/// `appsecret` query parameters and JSON fields.
public enum Redaction {
    private static let sensitiveKeys = ["access_token", "secret", "appsecret"]

    public static func redact(_ text: String) -> String {
        var result = text
        for key in sensitiveKeys {
            result = redactQueryValues(of: key, in: result)
            result = redactJSONValues(of: key, in: result)
        }
        return result
    }

    /// `key=VALUE` up to the next `&`, space, quote or end becomes `key=***`.
    private static func redactQueryValues(of key: String, in text: String) -> String {
        var output = ""
        var rest = Substring(text)
        let marker = key + "="
        while let range = rest.range(of: marker) {
            let before = rest[..<range.lowerBound]
            let isWholeKey = before.last.map { $0 == "?" || $0 == "&" || $0 == " " || $0 == "\n" } ?? true
            output += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            guard isWholeKey else { continue }
            let end = rest.firstIndex(where: { "& \"'\n\t".contains($0) }) ?? rest.endIndex
            if end != rest.startIndex { output += "***" }
            rest = rest[end...]
        }
        return output + rest
    }

    /// `"key":"VALUE"` becomes `"key":"***"`.
    private static func redactJSONValues(of key: String, in text: String) -> String {
        var output = ""
        var rest = Substring(text)
        let marker = "\"\(key)\""
        while let range = rest.range(of: marker) {
            output += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            let afterColon = rest.drop(while: { $0 == " " || $0 == ":" })
            guard afterColon.first == "\"" else { continue }
            let valueStart = afterColon.index(after: afterColon.startIndex)
            guard let valueEnd = afterColon[valueStart...].firstIndex(of: "\"") else { continue }
            output += rest[..<valueStart] + "***"
            rest = afterColon[valueEnd...]
        }
        return output + rest
    }
}
