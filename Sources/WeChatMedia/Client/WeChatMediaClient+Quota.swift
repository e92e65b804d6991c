import Foundation
import NIOCore

extension WeChatMediaClient {
    public static let quotaPath = "/cgi-bin/openapi/quota/get"

    /// The daily quota of the API at `cgiPath` (`/cgi-bin/media/upload`), from
    /// `POST /cgi-bin/openapi/quota/get`. `retry` bounds it apart from transfers: it serves
    /// `wxmediafs status`, which must answer promptly even with the server away.
    public func quota(of cgiPath: String, retry: RetryPolicy) async throws -> APIQuota {
        let body = try JSONSerialization.data(withJSONObject: ["cgi_path": cgiPath])
        return try await retry.run(logger: logger, operation: "quota") { deadline in
            try await withFreshToken { token in
                let reply = try await connection.jsonRequest(
                    path: Self.quotaPath, query: QueryString.encode([("access_token", token.value)]), method: .POST,
                    body: ByteBuffer(bytes: body), contentType: "application/json", as: .quota, deadline: deadline)
                if let error = reply.error { throw error }
                do {
                    return try reply.apiQuota()
                } catch {
                    throw FinalFailure(error)
                }
            }
        }
    }
}
