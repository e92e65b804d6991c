import ArgumentParser
import FUSEKit
import Foundation

struct UnmountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a wxmediafs mount; its daemon then exits.")

    @Argument(help: "The mountpoint.")
    var mountpoint: String

    func run() async throws {
        let path = MountPoint.absolute(mountpoint)
        guard MountTable.isMounted(path) else {
            throw ValidationError("\(path) is not mounted")
        }
        guard MountTable.detach(path, lazy: false) else {
            throw ValidationError("cannot unmount \(path): it is busy (close the files open in it and try again)")
        }
        // Wait, with a deadline, for the kernel to drop the mount.
        let deadline = ContinuousClock.now + .seconds(10)
        while MountTable.isMounted(path), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
