import ArgumentParser
import FUSEKit
import Foundation
import LocalByteStore
import MediaCatalog
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a wxmediafs mount; its daemon then exits.",
        discussion: """
            Refused while files are open in the mount (an upload in flight keeps its file open \
            until it is done). Returns once the daemon has exited, so the disk holding its cache \
            dir can be unmounted next. --lazy detaches the mount at once and lets the daemon exit \
            when the last file is closed, as umount -l does (it does not wait for the daemon).
            """)

    @Argument(help: "The mountpoint.")
    var mountpoint: String

    @Flag(help: "Detach now, even if busy; the daemon exits once the last open file is closed.")
    var lazy = false

    func run() async throws {
        let path = MountPoint.absolute(mountpoint)
        guard MountTable.isMounted(path) else {
            throw MountPoint.Problem(description: "\(path) is not mounted")
        }
        // Asked before detaching: afterwards the mount cannot be asked anything.
        let cacheDirectory = (try? StatusClient.statusSocketPath(mountpoint: path)).map {
            ($0 as NSString).deletingLastPathComponent
        }
        let status = (try? StatusClient.fetch(mountpoint: path)).flatMap { try? MountStatus(json: $0) }
        let daemon = status?.pid
        if let queue = status?.uploadQueue, queue.queued + queue.uploading > 0 {
            FileHandle.standardError.write(
                Data(
                    "wxmediafs: waiting for \(queue.queued + queue.uploading) queued upload(s); the next mount resumes any left\n"
                        .utf8))
        }
        guard MountTable.detach(path, lazy: lazy) else {
            throw MountPoint.Problem(
                description:
                    "cannot unmount \(path): it is busy (close the files open in it and try again, or use --lazy)")
        }
        // Wait, with a deadline, for the kernel to drop the mount.
        let deadline = ContinuousClock.now + .seconds(10)
        while MountTable.isMounted(path), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard !lazy, let daemon else { return }
        // Then for the daemon, which answers what is in flight first (at most 35 s).
        let exitDeadline = ContinuousClock.now + .seconds(45)
        while ProcessTable.isRunning(daemon) {
            guard ContinuousClock.now < exitDeadline else {
                throw MountPoint.Problem(
                    description: "unmounted \(path), but its daemon (pid \(daemon)) is still running")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let left = cacheDirectory.map(ContentCache.pendingQueuedFiles(in:)) ?? 0
        if let cacheDirectory, left > 0 {
            FileHandle.standardError.write(
                Data(
                    "wxmediafs: \(left) upload(s) still queued in \(cacheDirectory): the next mount on it resumes them\n"
                        .utf8))
        }
    }
}
