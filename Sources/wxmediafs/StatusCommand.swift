import ArgumentParser
import Foundation
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what a running mount is doing.",
        discussion: """
            Asks the mount at MOUNTPOINT, over the Unix socket in its cache dir (only the user who \
            mounted can open it), for: uploads and downloads in flight with their progress, recent \
            failures with errno, errcode and errmsg, cache usage against its cap, the age of the \
            access token (never the token), the requests sent, by kind, and the daily upload and \
            download quota (which the mount asks the server at most once a minute). The command \
            itself never talks to the network.
            """
    )

    @Argument(help: "Where the filesystem is mounted.")
    var mountpoint: String

    @Flag(help: "Print the answer as JSON, as the mount sent it.")
    var json = false

    func run() throws {
        let document = try StatusClient.fetch(mountpoint: MountPoint.absolute(mountpoint))
        if json {
            print(String(decoding: document, as: UTF8.self))
            return
        }
        let status = try MountStatus(json: document)
        print(StatusReport(status: status, now: Date()).text, terminator: "")
    }
}
