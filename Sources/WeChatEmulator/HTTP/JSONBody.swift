import Foundation
import Hummingbird

extension EmulatorAPI {
    /// The request's body as a JSON object (at most 64 KiB read); nil when it is empty or not one.
    func jsonBody(_ request: Request, context: EmulatorRequestContext) async throws -> [String: Any]? {
        try await context.continueIfExpected(request)
        let body = try await request.body.collect(upTo: 64 * 1024)
        return try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
    }
}
