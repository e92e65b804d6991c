import Foundation
import Synchronization
import WeChatMedia

/// What the mount is doing now and what went wrong lately, for `wxmediafs status`. Updated from
/// upload and download callbacks (synchronously: a progress tick must not cost a task).
public final class MountActivity: Sendable {
    private struct State {
        var nextID: UInt64 = 1
        var transfers: [UInt64: MountStatus.Transfer] = [:]
        var failures: [MountStatus.Failure] = []
    }
    private let state = Mutex(State())
    /// Recent failures kept; older ones are dropped.
    static let failuresKept = 20

    public init() {}

    /// Starts tracking an upload or download of `name` (`total` bytes, when known).
    func begin(_ kind: MountStatus.Transfer.Kind, name: String, total: Int64?) -> UInt64 {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.transfers[id] = MountStatus.Transfer(
                kind: kind, name: name, bytesDone: 0, bytesTotal: total, startedAt: Date())
            return id
        }
    }

    func progress(_ id: UInt64, bytesDone: Int64) {
        state.withLock { $0.transfers[id]?.bytesDone = bytesDone }
    }

    func end(_ id: UInt64) {
        _ = state.withLock { $0.transfers.removeValue(forKey: id) }
    }

    /// Remembers a failed operation with its errno and, when the server gave one, errcode and errmsg.
    func failed(_ operation: String, name: String, errno code: Int32, error: any Error) {
        let errmsg =
            switch error {
            case let error as APIError: error.errmsg
            case let violation as MediaRuleViolation: "refused locally: \(violation)"
            default: ErrnoMapping.explanation(for: error)
            }
        let failure = MountStatus.Failure(
            at: Date(), operation: operation, name: name, errno: ErrnoMapping.name(of: code),
            errcode: ErrnoMapping.errcode(of: error), errmsg: errmsg)
        state.withLock { state in
            state.failures.append(failure)
            if state.failures.count > Self.failuresKept { state.failures.removeFirst() }
        }
    }

    func snapshot() -> (transfers: [MountStatus.Transfer], failures: [MountStatus.Failure]) {
        state.withLock { state in
            (state.transfers.sorted { $0.key < $1.key }.map(\.value), state.failures)
        }
    }
}
