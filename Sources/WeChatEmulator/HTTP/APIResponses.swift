import Foundation
import HTTPTypes
import Hummingbird
import WeChatMedia

/// The shapes of the platform's answers: HTTP 200 and JSON for errors as for successes.
enum APIResponses {
    /// Names the errcode for the request log; removed before the response leaves.
    // swift-format-ignore: NeverForceUnwrap
    // Literal, valid token characters: these cannot fail.
    static let errcodeHeader = HTTPField.Name("x-emulator-errcode")!
    // swift-format-ignore: NeverForceUnwrap
    static let contentDisposition = HTTPField.Name("Content-disposition")!

    /// `{"errcode":N,"errmsg":"text hint: [xxxxxxxxxx] rid: xxxxxxxx-xxxxxxxx-xxxxxxxx"}`.
    static func error(_ code: WeChatErrorCode, detail: String? = nil) -> Response {
        var response = json(errorObject(code, detail: detail))
        response.headers[errcodeHeader] = String(code.rawValue)
        return response
    }

    static func errorObject(_ code: WeChatErrorCode, detail: String? = nil) -> [String: any Sendable] {
        var message = code.message
        if let detail { message += ", " + detail }
        message += " hint: [\(RandomIDs.hint())] rid: \(RandomIDs.requestID())"
        return ["errcode": code.rawValue, "errmsg": message]
    }

    static func json(_ object: [String: any Sendable], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: jsonHeaders, body: ResponseBody(byteBuffer: jsonBuffer(object)))
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json; encoding=utf-8"]

    static func jsonBuffer(_ object: [String: any Sendable]) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }

    /// An RFC 9110 HTTP-date, as the seed's `Date:` header shows.
    static func httpDate(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }
}

extension Request {
    /// A query parameter, decoded as a form does (`+` is a space, then percent escapes: what
    /// Python's requests sends for wechatpy's JSON `description`); the first of its name, nil
    /// when absent.
    func query(_ name: String) -> String? {
        for pair in (uri.query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.formDecoded(parts[0]) == name else { continue }
            return parts.count > 1 ? Self.formDecoded(parts[1]) : ""
        }
        return nil
    }

    private static func formDecoded(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
