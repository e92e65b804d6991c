import Deadlines
import Logging
import NIOCore

/// How a client takes part in a fleet's upload pause: after a 45009 on upload it pauses the
/// fleet's uploads for `length`, and while a pause lasts its uploads fail at once with 45009
/// (EAGAIN in the filesystem) without a request.
public struct UploadPausePolicy: Sendable {
    public var shared: any SharedUploadPause
    /// How long uploads stop after a 45009. The quota is the account's for the day, so every
    /// upload sent before it is renewed is refused; one host tries again when the pause ends.
    public var length: Duration

    public init(shared: any SharedUploadPause, length: Duration = .seconds(60)) {
        self.shared = shared
        self.length = length
    }

    /// Throws the 45009 a paused upload would meet, as a failure not to retry (retrying is what
    /// the pause is for); a store that cannot be read fails the upload as an unreachable server would.
    func check(by deadline: NIODeadline) async throws {
        let shared = self.shared
        let remaining: Duration?
        do {
            remaining = try await APIConnection.bounded(by: deadline) { try await shared.remainingPause() }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw TransportError.connection("upload pause store: cannot read the pause: \(error)")
        }
        guard let remaining, remaining > .zero else { return }
        let code = WeChatErrorCode.dailyQuotaExceeded
        throw FinalFailure(
            APIError(
                errcode: code.rawValue,
                errmsg: code.message + " (uploads paused for every host, \(remaining.roundedUpSeconds) s left)"))
    }

    /// Starts the fleet's pause after `error` (a 45009 this host met). A store that cannot be
    /// written leaves the other hosts to meet the 45009 themselves; this upload fails all the same.
    func record(_ error: APIError, by deadline: NIODeadline, logger: Logger) async {
        let shared = self.shared
        // A day at most: the quota is renewed daily, and the bound keeps the sum far from overflow.
        let length = min(max(self.length, .zero), .seconds(86400))
        do {
            try await APIConnection.bounded(by: deadline) { try await shared.pauseUploads(for: length) }
            logger.warning(
                "daily upload quota reached; uploads paused for every host",
                metadata: ["errcode": "\(error.errcode)", "seconds": "\(length.roundedUpSeconds)"])
        } catch {
            logger.warning(
                "daily upload quota reached; the pause could not be shared", metadata: ["error": "\(error)"])
        }
    }
}
