import Foundation

/// Reads the filename of a `Content-disposition: attachment; filename="..."` header. The result is
/// informational only and reduced to a harmless last path component: it never names a local path.
public enum ContentDisposition {
    public static func filename(in header: String) -> String? {
        guard header.lowercased().contains("attachment") || header.lowercased().contains("filename") else { return nil }
        guard let range = header.range(of: "filename=", options: .caseInsensitive) else { return "" }
        var value = header[range.upperBound...]
        if value.first == "\"" {
            value = value.dropFirst()
            value = value.prefix { $0 != "\"" }
        } else {
            value = value.prefix { $0 != ";" && $0 != " " }
        }
        let last = value.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        return last == ".." || last == "." ? "" : last
    }
}
