import Dispatch

/// Runs calls that can block for long (an `fsync` on a busy disk) on a thread outside Swift's
/// cooperative pool, whose few threads (one per core) serve every FUSE request.
enum BlockingIO {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}
