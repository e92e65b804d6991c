import CFuse3
import Deadlines
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
    /// Where every reply goes through: it knows the requests in flight and drops answers once
    /// the session is going away.
    let replies: ReplyGate

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
        self.replies = ReplyGate(logger: logger, referenced: { fileSystem.referenced(inode: $0) })
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
    /// `umount`), then releases the session. The loop runs on its own thread, never on the
    /// concurrency pool, and so does the teardown, which blocks while it waits.
    public func run(maxThreads: Int = 8) async {
        guard handle.session != nil else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                self.serveThenRelease(maxThreads: maxThreads)
                continuation.resume()
            }
            thread.name = "fuse-loop"
            thread.start()
        }
        let served = servedRequests
        logger.info(
            "served \(served.count) requests; slowest: \(served.operation) in \(served.slowest.wholeMilliseconds) ms")
    }

    /// How long requests still in flight when the loop ends may take to be answered: longer than
    /// the 30 s an upload or download takes at most by default (`--request-timeout`), so that
    /// they end by themselves and a lazily detached `cp` still learns how its upload went. An
    /// `unmount(answeringWithin:)` sets a shorter one (a shutdown's budget).
    static let answerDeadline = Duration.seconds(35)
    private let answerWithin = Mutex(FUSESession.answerDeadline)
    /// The tasks working on requests, so that a shutdown out of time can cancel them.
    private let inFlight = Mutex(InFlightTasks())

    private struct InFlightTasks {
        var next: UInt64 = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
        /// Tickets whose task ended before it was registered.
        var finished: Set<UInt64> = []
        /// Set by `cancelRequestsInFlight`: a task registered later is cancelled at once.
        var cancelled = false
    }

    /// Runs the loop; when it ends, lets the requests in flight be answered (within
    /// `answerDeadline`), closes the reply gate so that a later answer is dropped, detaches the
    /// kernel cache, and only then unmounts and destroys the session.
    private func serveThenRelease(maxThreads: Int) {
        guard let session = handle.session else { return }
        let status = cfuse_session_loop_mt(session, UInt32(maxThreads))
        if status != 0 { logger.debug("FUSE loop ended", metadata: ["status": "\(status)"]) }
        let inFlight = replies.stopAccepting()
        logger.info("the FUSE loop ended with \(inFlight) requests in flight")
        let within = answerWithin.withLock { $0 }
        let unanswered = replies.waitUntilAnswered(within: within)
        if unanswered > 0 {
            logger.warning(
                "\(unanswered) requests still unanswered after \(within.wholeMilliseconds) ms: their answers are dropped"
            )
        }
        replies.close()
        kernelCache?.attach(nil)
        if let session = handle.take() {
            fuse_session_unmount(session)
            fuse_session_destroy(session)
        }
    }

    /// Detaches the filesystem from the mountpoint; the loop of `run` then ends, and requests
    /// still in flight get `answeringWithin` (default `answerDeadline`) to be answered. A
    /// request held open (a close waiting for an upload) keeps a lazily detached mount alive,
    /// and the loop with it: the caller cancels it (`cancelRequestsInFlight`) when it may wait
    /// no longer.
    public func unmount(answeringWithin limit: Duration? = nil) {
        if let limit { answerWithin.withLock { $0 = max(.zero, limit) } }
        handle.withSession { fuse_session_exit($0) }
        MountTable.detach(mountpoint, lazy: true)
    }

    static func from(_ request: fuse_req_t?) -> FUSESession? {
        guard let request, let userdata = fuse_req_userdata(request) else { return nil }
        return Unmanaged<FUSESession>.fromOpaque(userdata).takeUnretainedValue()
    }

    /// Runs `body` in a task of its own; a thrown `FUSEError` answers with its errno, anything else with EIO.
    func dispatch(
        _ request: PendingRequest, priority: TaskPriority? = nil, immediately: Bool = false,
        _ body: @escaping @Sendable () async throws -> Void
    ) {
        let logger = self.logger
        let latency = self.latency
        let ticket = inFlight.withLock { state in
            state.next &+= 1
            return state.next
        }
        let work: @Sendable () async -> Void = {
            let started = ContinuousClock.now
            defer {
                self.inFlight.withLock { state in
                    // Done before it was registered (an immediate one that never suspended).
                    if state.tasks.removeValue(forKey: ticket) == nil, !state.cancelled {
                        state.finished.insert(ticket)
                    }
                }
            }
            do {
                try await body()
            } catch is CancellationError where Task.isCancelled {
                // Cancelled by a shutdown whose budget ran out: the caller learns it failed.
                request.fail(EIO)
            } catch let error as FUSEError {
                request.fail(error.errno)
            } catch let error as any ErrnoConvertible {
                logger.error("\(request.operation) failed: \(error)")
                request.fail(error.errno)
            } catch {
                logger.error("\(request.operation) failed: \(error)")
                request.fail(EIO)
            }
            latency.record("\(request.operation)", started.duration(to: .now))
        }
        // An immediate task runs on libfuse's thread until it first waits: a lookup or getattr
        // answered from memory or the local catalog costs no thread hop.
        let task =
            immediately
            ? Task.immediate(priority: priority, operation: work) : Task(priority: priority, operation: work)
        let cancelled = inFlight.withLock { state in
            if state.finished.remove(ticket) == nil, !state.cancelled { state.tasks[ticket] = task }
            return state.cancelled
        }
        if cancelled { task.cancel() }
    }

    /// Cancels every request still being worked on: each then answers (EIO at the latest), so
    /// that a `close()` waiting on a held upload returns and the kernel lets the mount go.
    public func cancelRequestsInFlight() {
        let tasks = inFlight.withLock { state in
            defer {
                state.tasks = [:]
                state.finished = []
                state.cancelled = true
            }
            return Array(state.tasks.values)
        }
        tasks.forEach { $0.cancel() }
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

    /// Runs `body` with the session, if it is still there, holding it: `take` waits meanwhile.
    func withSession(_ body: (OpaquePointer) -> Void) {
        pointer.withLock { value in
            if let session = OpaquePointer(bitPattern: value) { body(session) }
        }
    }

    func take() -> OpaquePointer? {
        pointer.withLock { value in
            defer { value = 0 }
            return OpaquePointer(bitPattern: value)
        }
    }
}
