import Hummingbird
import NIOCore
import NIOHTTPTypes

extension Request {
    /// Whether the client holds its body back until told `100 Continue` (RFC 9110 §10.1.1):
    /// curl does so for bodies over 1 MiB, and waits a second for the answer before sending anyway.
    var expectsContinue: Bool {
        headers[.expect].map { $0.lowercased() == "100-continue" } ?? false
    }
}

extension EmulatorRequestContext {
    /// Tells a client that sent `Expect: 100-continue` to go on, as the platform's front ends do.
    /// A handler calls it just before it reads the body, after every check that can refuse the
    /// request without it, so a refusal (by `Content-Length`, say) is answered instead and the
    /// body is never sent. The interim head goes out on the connection before the final one,
    /// which the handler has not made yet.
    func continueIfExpected(_ request: Request) async throws {
        guard request.expectsContinue else { return }
        try await channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .continue)))
    }
}
