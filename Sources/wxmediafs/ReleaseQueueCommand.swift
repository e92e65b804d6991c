import ArgumentParser
import Foundation
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// Gives up the queued files of a fleet host that stopped and will not come back.
struct ReleaseQueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release-queue",
        abstract: "Give up the files a stopped fleet host left queued, freeing their names.",
        discussion: """
            In a fleet (--catalog-url) with --uploads background, a host that dies with files \
            queued keeps their names, and their folders non-empty, for every host: they are \
            listed with user.wechat.state "queued on host HOST, which is not running", and \
            'wxmediafs status' names the host. If that host mounts its cache dir again it uploads \
            them; if it never will, this removes their names for the fleet. Their bytes were \
            never uploaded and stay only in that host's cache dir (its next mount discards \
            them). Refused while the host is running. HOST is the key status shows \
            (host name:cache dir).
            """
    )

    @Argument(help: "Where the filesystem is mounted (any host of the fleet).")
    var mountpoint: String

    @Option(help: "The stopped host, as 'wxmediafs status' names it.")
    var host: String

    func run() throws {
        let root = try StatusClient.mountRoot(containing: MountPoint.absolute(mountpoint))
        let status = try? MountStatus(json: StatusClient.fetch(mountpoint: root))
        let files = status?.stoppedHostsQueues?.first { $0.host == host }?.files
        // Through an upload folder, which the mount's owner may write (its root is read-only).
        let done = systemSetxattr(root + "/image", MountStatus.releaseQueueAttribute, host, host.utf8.count, 0)
        guard done == 0 else {
            let reason =
                switch errno {
                case ENOENT: "no queued file of a stopped host \(host) is known"
                case EBUSY: "host \(host) is running: its queue is its own"
                default: String(cString: strerror(errno))
                }
            throw MountPoint.Problem(description: "release-queue: \(reason)")
        }
        print(
            "released \(files.map { "\($0) queued file(s)" } ?? "the queued files") of \(host): their names are gone "
                + "for the fleet; their bytes were never uploaded and stay only in that host's cache dir")
    }
}
