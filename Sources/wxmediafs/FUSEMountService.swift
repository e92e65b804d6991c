import FUSEKit
import Foundation
import Logging
import ServiceLifecycle
import WeChatMediaFS

/// The mount itself as the last service of the group, so the first to be shut down: it answers
/// the kernel until the mount is detached. On a graceful shutdown (SIGTERM, SIGINT) it spends
/// the shutdown budget phase by phase: uploads in flight may finish, the mount is detached,
/// requests still held are answered or cancelled, queued uploads may finish, those left are
/// stopped. After an unmount (`fusermount3 -u`), the queue may drain for
/// `--queue-drain-timeout`. Either way it returns when the filesystem has stopped, and the group
/// then closes the rest.
struct FUSEMountService: Service, CustomStringConvertible {
    let session: FUSESession
    let fileSystem: MediaFileSystem
    let mountpoint: String
    /// How long queued uploads may drain after an unmount (no signal).
    let queueDrainTimeout: Duration
    /// The line that says the mount is ready, on stdout and to systemd.
    let announcement: String
    let cacheDirectory: String
    let systemd: SystemdNotifier?
    let logger: Logger

    var description: String { "mount \(mountpoint)" }

    func run() async {
        // The budget of the signal that detached the mount, if one did.
        let budget = await withTaskGroup(of: ShutdownBudget?.self) { group in
            group.addTask {
                await announceWhenAnswering()
                return nil
            }
            group.addTask {
                // Only the first signal counts: the group ignores the next ones, and so the
                // budget is the first one's.
                guard (try? await gracefulShutdown()) != nil else { return nil }
                let budget = ShutdownBudget(signalled: .now)
                await detach(within: budget)
                return budget
            }
            await session.run()
            group.cancelAll()
            return await group.reduce(nil) { $0 ?? $1 }
        }
        let drainEnd = budget?.queueEnd ?? .now + queueDrainTimeout
        let stopEnd = budget?.queueStopEnd ?? drainEnd + ShutdownBudget.queueStopShare
        let left = await fileSystem.shutdown(drainingUntil: min(drainEnd, .now + queueDrainTimeout), deadline: stopEnd)
        if left > 0 {
            logger.warning(
                "\(left) queued upload(s) left unfinished: the next mount on \(cacheDirectory) resumes them")
        }
        logger.info("unmounted \(mountpoint); peak memory \(Self.peakMemoryKiB() ?? "?") KiB")
    }

    /// The signal's part: uploads in flight may finish, the mount is detached, and requests
    /// still held past the answers' share (a close waiting for a held upload keeps the mount,
    /// and the loop, alive) are cancelled: they answer EIO.
    private func detach(within budget: ShutdownBudget) async {
        systemd?.send("STOPPING=1", "STATUS=Finishing uploads, then unmounting")
        logger.notice(
            "stopping: letting uploads in flight finish, then unmounting \(mountpoint) (within \(ShutdownBudget.total))"
        )
        if await !fileSystem.waitForUploads(until: budget.uploadsEnd) {
            logger.warning("uploads still in flight after \(ShutdownBudget.uploads): unmounting anyway")
        }
        session.unmount(answeringWithin: ContinuousClock.now.duration(to: budget.answersEnd))
        guard (try? await Task.sleep(until: budget.answersEnd)) != nil else { return }
        session.cancelRequestsInFlight()
    }

    /// Says "mounted" (stdout for the daemonizing parent, READY=1 for systemd) once a request to
    /// the mount is answered; unmounts if none is.
    private func announceWhenAnswering() async {
        guard await Self.waitUntilAnswering(mountpoint) else {
            logger.error("the mount at \(mountpoint) does not answer")
            session.unmount()
            return
        }
        FileHandle.standardOutput.write(Data((announcement + "\n").utf8))
        systemd?.send("READY=1", "STATUS=Mounted \(mountpoint)")
        logger.info("mounted \(mountpoint)")
    }

    /// Whether a request to the mount is answered: a stat of its root, which the kernel sends to
    /// the loop just started. It blocks until then, so it runs on a thread of its own.
    static func waitUntilAnswering(_ mountpoint: String) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread {
                var info = stat()
                continuation.resume(returning: stat(mountpoint, &info) == 0)
            }.start()
        }
    }

    static func peakMemoryKiB() -> Substring? {
        (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("VmHWM:") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
    }
}
