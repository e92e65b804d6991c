import ArgumentParser

@main
struct WXMediaFS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wxmediafs",
        abstract: "WeChat Official Account media as a filesystem, and a local emulator of the media API.",
        version: VersionCommand.description,
        subcommands: [
            MountCommand.self, UnmountCommand.self, StatusCommand.self, SyncCommand.self, ReleaseQueueCommand.self,
            EmulatorCommand.self, VersionCommand.self,
        ]
    )
}
