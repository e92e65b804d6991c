import ArgumentParser

/// `wxmediafs version` and `wxmediafs --version`: the release and the commit it was built from.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the version and the commit it was built from.")

    /// The release, as packages and `--version` name it.
    static let number = "0.9.0"
    static var description: String { "wxmediafs \(number) (commit \(buildCommit))" }

    func run() {
        print(Self.description)
    }
}
