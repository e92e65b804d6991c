import Foundation
import Synchronization

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

    /// Remembers a failure (see `FailureReporter`); the oldest go past `failuresKept`.
    func record(_ failure: MountStatus.Failure) {
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
