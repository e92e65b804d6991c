import Foundation
import Hummingbird
import WeChatMedia

extension EmulatorAPI {
    /// `GET /cgi-bin/token?grant_type=client_credential&appid=APPID&secret=APPSECRET`.
    func legacyToken(_ request: Request) async -> Response {
        if let refusal = checkCredentials(
            grantType: request.query("grant_type"), appID: request.query("appid"), secret: request.query("secret"))
        {
            return refusal
        }
        let grant = await tokens.issueLegacy()
        return APIResponses.json(["access_token": grant.token, "expires_in": grant.expiresIn])
    }

    /// `POST /cgi-bin/stable_token` with a JSON body.
    func stableToken(_ request: Request, context: EmulatorRequestContext) async throws -> Response {
        guard request.method == .post else { return APIResponses.error(.requirePOST) }
        try await context.continueIfExpected(request)
        let body = try await request.body.collect(upTo: 64 * 1024)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        else {
            return APIResponses.error(.dataFormatError)
        }
        if let refusal = checkCredentials(
            grantType: object["grant_type"] as? String, appID: object["appid"] as? String,
            secret: object["secret"] as? String)
        {
            return refusal
        }
        let force = (object["force_refresh"] as? Bool) ?? false
        switch await tokens.issueStable(forceRefresh: force) {
        case .granted(let grant):
            return APIResponses.json(["access_token": grant.token, "expires_in": grant.expiresIn])
        case .refused(let code):
            return APIResponses.error(code)
        }
    }

    private func checkCredentials(grantType: String?, appID: String?, secret: String?) -> Response? {
        guard grantType == "client_credential" else { return APIResponses.error(.invalidGrantType) }
        guard let appID, !appID.isEmpty else { return APIResponses.error(.appIDMissing) }
        guard let secret, !secret.isEmpty else { return APIResponses.error(.appSecretMissing) }
        guard appID == configuration.appID else { return APIResponses.error(.invalidAppID) }
        guard secret == configuration.secret.value else { return APIResponses.error(.invalidAppSecret) }
        if access.secretFrozen { return APIResponses.error(.appSecretFrozen) }
        return nil
    }
}
