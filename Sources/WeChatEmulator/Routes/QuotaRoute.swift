import Foundation
import Hummingbird
import WeChatMedia

extension EmulatorAPI {
    /// `POST /cgi-bin/openapi/quota/get?access_token=ACCESS_TOKEN` with `{"cgi_path": PATH}`:
    /// today's `{"daily_limit","used","remain"}` of a metered API, from the emulator's own count.
    func quotaGet(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        guard request.method == .post else { return APIResponses.error(.requirePOST) }
        if let refusal = await refusal(of: request) { return refusal }
        guard let object = try await jsonBody(request, context: context), let path = object["cgi_path"] as? String
        else {
            return APIResponses.error(.dataFormatError)
        }
        guard let api = QuotaBook.Metered(rawValue: path) else {
            return APIResponses.error(Self.isUnmeteredPath(path) ? .cgiPathNoPermission : .cgiPathNotFound)
        }
        let reading = await quota.reading(api)
        return APIResponses.json([
            "errcode": 0, "errmsg": "ok",
            "quota": ["daily_limit": reading.dailyLimit, "used": reading.used, "remain": reading.remain],
        ])
    }

    /// Paths the platform has but this account may not ask the quota of (76022, not 76021): the
    /// token APIs, the quota API itself, and the third-party platform's `/cgi-bin/component/` APIs.
    static func isUnmeteredPath(_ path: String) -> Bool {
        ["/cgi-bin/token", "/cgi-bin/stable_token", "/cgi-bin/openapi/quota/get"].contains(path)
            || path.hasPrefix("/cgi-bin/component/")
    }
}
