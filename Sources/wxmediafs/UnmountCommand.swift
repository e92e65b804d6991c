import ArgumentParser
import FUSEKit
import Foundation

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a wxmediafs mount; its daemon then exits.",
        discussion: """
            Refused while files are open in the mount (an upload in flight keeps its file open \
            until it is done). --lazy detaches the mount at once and lets the daemon exit when the \
            last file is closed, as umount -l does.
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
    }
}
