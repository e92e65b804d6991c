import Foundation
import Hummingbird

extension EmulatorAPI {
    /// The request's body as a JSON object (at most `limit` bytes read: 64 KiB unless the
    /// endpoint takes articles); nil when it is empty or not one.
    func jsonBody(_ request: Request, context: EmulatorRequestContext, limit: Int = 64 * 1024) async throws
        -> [String: Any]?
    {
        try await context.continueIfExpected(request)
        let body = try await request.body.collect(upTo: limit)
        return try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
    }
}
