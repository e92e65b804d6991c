/// Parses a `Content-Disposition` or `Content-Type` header value: `form-data; name="media";
/// filename="a.jpg"` gives the value `form-data` and the parameters (names lowercased).
public struct HeaderValue: Equatable, Sendable {
    public var value: String
    public var parameters: [String: String]

    public init(parsing text: String) {
        var parts: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted, character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ";", !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        value = parts.first.map { $0.trimmingWhitespace().lowercased() } ?? ""
        parameters = [:]
        for part in parts.dropFirst() {
            guard let equals = part.firstIndex(of: "=") else { continue }
            let name = part[..<equals].trimmingWhitespace().lowercased()
            let raw = part[part.index(after: equals)...].trimmingWhitespace()
            if parameters[name] == nil { parameters[name] = raw }
        }
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
