import FUSEKit
import Foundation
import Logging
import WeChatMedia

/// The one place a failed transfer is told: one log line and one entry in `wxmediafs status`,
/// in the same words (`MountStatus.Failure.summary`), and the errno the caller answers with.
struct FailureReporter: Sendable {
    let logger: Logger
    let activity: MountActivity

    /// Reports `error` of `operation` ("upload", "download", "lookup") on `name` (a path in the
    /// mount); `errno` overrides the mapped one and `reason` the message, when the caller knows better.
    @discardableResult
    func report(
        _ operation: String, of name: String, _ error: any Error, errno override: Int32? = nil, reason: String? = nil
    ) -> FUSEError {
        FUSEError(reportFailure(operation, of: name, error, errno: override, reason: reason).code)
    }

    /// As `report`, also returning what was recorded (a queued upload keeps it with its file).
    func reportFailure(
        _ operation: String, of name: String, _ error: any Error, errno override: Int32? = nil, reason: String? = nil
    ) -> (failure: MountStatus.Failure, code: Int32) {
        let code = override ?? ErrnoMapping.errno(for: error)
        let message =
            reason
            ?? {
                switch error {
                case let error as APIError: error.code?.advice.map { "\(error.errmsg); \($0)" } ?? error.errmsg
                case let violation as MediaRuleViolation: "refused before upload: \(violation)"
                default: "\(error)"
                }
            }()
        let failure = MountStatus.Failure(
            at: Date(), operation: operation, name: name, errno: ErrnoMapping.name(of: code),
            errcode: ErrnoMapping.errcode(of: error), errmsg: message)
        logger.error("\(failure.summary)")
        activity.record(failure)
        return (failure, code)
    }
}
