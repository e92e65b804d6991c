import CFuse3
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A mounted filesystem: creates the libfuse session, mounts it, runs the multi-threaded loop on
/// threads of its own and hands every request to the `FileSystem` in a task of its own.
public final class FUSESession: Sendable {
    public struct MountError: Error, CustomStringConvertible {
        public let description: String
    }

    public let mountpoint: String
    let fileSystem: any FileSystem
    let logger: Logger
    /// The libfuse session; a pointer that libfuse lets the loop, `exit` and `unmount` share.
    private let handle: SessionHandle
    /// How many requests were answered, and the slowest one.
    private let latency = RequestLatency()

    /// Requests answered so far and the slowest of them (operation and time), for logs and soak tests.
    public var servedRequests: (count: Int, slowest: Duration, operation: String) { latency.snapshot }

    private let kernelCache: KernelCache?

    /// Creates the session and mounts it at `mountpoint` with the `-o` options given; the
    /// filesystem's `kernelCache`, if any, is connected to it.
    public init(
        fileSystem: any FileSystem, mountpoint: String, options: [String], kernelCache: KernelCache? = nil,
        logger: Logger
    ) throws {
        self.mountpoint = mountpoint
        self.fileSystem = fileSystem
        self.logger = logger
        self.handle = SessionHandle()
        self.kernelCache = kernelCache
        var args = cfuse_args_init()
        for argument in ["wxmediafs"] + (options.isEmpty ? [] : ["-o", options.joined(separator: ",")]) {
            guard fuse_opt_add_arg(&args, argument) == 0 else { throw MountError(description: "out of memory") }
        }
        defer { fuse_opt_free_args(&args) }
        var operations = FUSEOperations.table
        let userdata = Unmanaged.passUnretained(self).toOpaque()
        guard let session = fuse_session_new(&args, &operations, MemoryLayout<fuse_lowlevel_ops>.size, userdata)
        else {
            throw MountError(description: "libfuse refused the options \(options.joined(separator: ","))")
        }
        guard fuse_session_mount(session, mountpoint) == 0 else {
            fuse_session_destroy(session)
            throw MountError(description: "cannot mount on \(mountpoint) (is /dev/fuse there, and fusermount3?)")
        }
        handle.set(session)
        kernelCache?.attach(session)
    }

    /// Serves requests until the filesystem is unmounted (by `unmount`, `fusermount3 -u`, or
    /// `umount`), then releases the session. The loop runs on its own threads, never on the
    /// concurrency pool.
    public func run(maxThreads: Int = 8) async {
        guard handle.session != nil else { return }
        let handle = self.handle
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                guard let session = handle.session else { return continuation.resume() }
                let status = cfuse_session_loop_mt(session, UInt32(maxThreads))
                if status != 0 { self.logger.debug("FUSE loop ended", metadata: ["status": "\(status)"]) }
                continuation.resume()
            }
            thread.name = "fuse-loop"
            thread.start()
        }
        kernelCache?.attach(nil)
        if let session = handle.take() {
            fuse_session_unmount(session)
            fuse_session_destroy(session)
        }
        let served = servedRequests
        logger.info("served \(served.count) requests; slowest: \(served.operation) in \(served.slowest)")
    }

    /// Detaches the filesystem from the mountpoint; the loop of `run` then ends.
    public func unmount() {
        guard let session = handle.session else { return }
        fuse_session_exit(session)
        MountTable.detach(mountpoint, lazy: true)
    }

    static func from(_ request: fuse_req_t?) -> FUSESession? {
        guard let request, let userdata = fuse_req_userdata(request) else { return nil }
        return Unmanaged<FUSESession>.fromOpaque(userdata).takeUnretainedValue()
    }

    /// Runs `body` in a task of its own; a thrown `FUSEError` answers with its errno, anything else with EIO.
    func dispatch(
        _ request: FUSERequest, _ operation: StaticString, priority: TaskPriority? = nil,
        _ body: @escaping @Sendable () async throws -> Void
    ) {
        let logger = self.logger
        let latency = self.latency
        Task(priority: priority) {
            let started = ContinuousClock.now
            do {
                try await body()
            } catch let error as FUSEError {
                request.fail(error.errno)
            } catch {
                logger.error("\(operation) failed: \(error)")
                request.fail(EIO)
            }
            latency.record("\(operation)", started.duration(to: .now))
        }
    }
}

/// How many requests were answered and which took longest.
private final class RequestLatency: Sendable {
    private let state = Mutex<(count: Int, slowest: Duration, operation: String)>((0, .zero, ""))

    func record(_ operation: String, _ elapsed: Duration) {
        state.withLock { value in
            value.count += 1
            if elapsed > value.slowest { value = (value.count, elapsed, operation) }
        }
    }

    var snapshot: (count: Int, slowest: Duration, operation: String) { state.withLock { $0 } }
}

/// The `struct fuse_session *`, set once after mounting and taken once when the loop ends.
private final class SessionHandle: Sendable {
    private let pointer = Mutex<UInt>(0)

    func set(_ session: OpaquePointer) {
        pointer.withLock { $0 = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(session))) }
    }

    var session: OpaquePointer? { pointer.withLock { OpaquePointer(bitPattern: $0) } }

    func take() -> OpaquePointer? {
        pointer.withLock { value in
            defer { value = 0 }
            return OpaquePointer(bitPattern: value)
        }
    }
}
