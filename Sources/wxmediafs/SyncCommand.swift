import ArgumentParser
import Foundation
import WeChatMediaFS

struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Wait until every queued upload of a mount has ended; tell each failure.",
        discussion: """
            For a mount with --uploads background, whose close() returns once a file is queued: \
            waits (over the Unix socket in the mount's cache dir) until no upload is queued or in \
            flight, then prints each file whose upload failed (path, errno, errcode, errmsg) and \
            exits 1 if any did, 0 otherwise. A failed file stays listed, without a sidecar, until \
            it is removed or written again. For a mount with --uploads sync it returns at once.
            """
    )

    @Argument(help: "Where the filesystem is mounted.")
    var mountpoint: String

    func run() throws {
        let document = try StatusClient.fetch(mountpoint: MountPoint.absolute(mountpoint), socketName: "sync.sock")
        guard let queue = try? WireFormat.decode(UploadQueueStatus.self, from: Array(document)) else {
            throw MountPoint.Problem(
                description: "the mount at \(mountpoint) gave no answer to sync (it stopped while waiting?)")
        }
        guard !queue.failed.isEmpty else { return }
        let lines = queue.failed.map { "wxmediafs: \($0.summaryWithRetry)\n" }.joined()
        FileHandle.standardError.write(Data((lines + "wxmediafs: \(queue.failed.count) upload(s) failed\n").utf8))
        throw ExitCode(1)
    }
}
