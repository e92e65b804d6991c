import FUSEKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ProcessTable` reads /proc as bytes: a thread of this test process belongs to this process,
/// and processes that exited or never were are told apart from running ones.
struct ProcessTableTests {
    @Test func aThreadBelongsToItsProcess() async throws {
        let process = getpid()
        #expect(ProcessTable.process(ofThread: process) == process)
        // A thread other than the main one has an id of its own and the same process; it waits
        // until it has been asked about.
        let asked = DispatchSemaphore(value: 0)
        defer { asked.signal() }
        let thread = await withCheckedContinuation { continuation in
            Thread {
                continuation.resume(returning: Self.currentThreadID())
                asked.wait()
            }.start()
        }
        #expect(thread != process)
        #expect(ProcessTable.process(ofThread: thread) == process)
        #expect(ProcessTable.process(ofThread: 0) == 0)
        #expect(ProcessTable.process(ofThread: -5) == -5)
    }

    /// This thread's id, from /proc/thread-self ("PID/task/TID"): Glibc's `gettid` is not imported.
    private static func currentThreadID() -> Int32 {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return link.split(separator: "/").last.flatMap { Int32($0) } ?? -1
    }

    @Test func aLivingThreadOfAnotherProcessIsThatProcesss() throws {
        // `sleep` is single-threaded: its one thread's id is its process id.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/sleep")
        child.arguments = ["30"]
        try child.run()
        defer {
            child.terminate()
            child.waitUntilExit()
        }
        let pid = child.processIdentifier
        #expect(ProcessTable.process(ofThread: pid) == pid)
        #expect(ProcessTable.isRunning(pid))
    }

    @Test func exitedAndMissingProcessesAreNotRunning() throws {
        #expect(ProcessTable.isRunning(getpid()))
        #expect(!ProcessTable.isRunning(0))
        #expect(!ProcessTable.isRunning(Int32.max))
        // A child that exited and was not reaped yet is a zombie: exited.
        let child = fork()
        if child == 0 { _exit(0) }
        try #require(child > 0)
        defer { waitpid(child, nil, 0) }
        let deadline = ContinuousClock.now + .seconds(10)
        while ProcessTable.isRunning(child), ContinuousClock.now < deadline { usleep(1000) }
        #expect(!ProcessTable.isRunning(child), "a zombie has exited")
    }
}
