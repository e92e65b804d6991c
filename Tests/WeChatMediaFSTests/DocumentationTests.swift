import EmulatorTestSupport
import Foundation
import Testing

/// docs/configuration.md lists every option of every command, and nothing else: it is compared
/// with what the command line itself declares (ArgumentParser's `--experimental-dump-help`), so
/// an option added, renamed or removed without its line fails here.
@Suite("Documentation against the command line")
struct DocumentationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every subcommand's long option and flag names, but the ones ArgumentParser adds itself.
    static func declaredOptions() async throws -> [String: Set<String>] {
        let binary = try #require(Command.builtExecutable("wxmediafs"), "the wxmediafs binary is built")
        let dump = try await Command.run(binary, ["--experimental-dump-help"])
        try #require(dump.status == 0, "\(dump.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let root = try #require(json["command"] as? [String: Any])
        var options: [String: Set<String>] = [:]
        for command in root["subcommands"] as? [[String: Any]] ?? [] {
            guard let name = command["commandName"] as? String, name != "help" else { continue }
            var longNames: Set<String> = []
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                for spelling in argument["names"] as? [[String: Any]] ?? [] where spelling["kind"] as? String == "long"
                {
                    if let long = spelling["name"] as? String { longNames.insert("--" + long) }
                }
            }
            options[name] = longNames.subtracting(["--help", "--version", "--experimental-dump-help"])
        }
        return options
    }

    /// The `--names` in the first column of the tables under each `## wxmediafs COMMAND` heading.
    static func documentedOptions() throws -> [String: Set<String>] {
        let page = try String(contentsOf: repository.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let flag = try Regex(#"`(--[a-z0-9-]+)`"#)
        var options: [String: Set<String>] = [:]
        var command: String?
        for line in page.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") {
                let heading = line.dropFirst(3)
                command = heading.hasPrefix("wxmediafs ") ? String(heading.dropFirst("wxmediafs ".count)) : nil
                if let command { options[command, default: []] = [] }
                continue
            }
            guard let command, line.hasPrefix("| `--") else { continue }
            let firstCell = line.split(separator: "|", omittingEmptySubsequences: true).first ?? ""
            for match in firstCell.matches(of: flag) {
                if let name = match.output[1].substring { options[command, default: []].insert(String(name)) }
            }
        }
        return options
    }

    @Test func configurationListsEveryOptionOfEveryCommandAndNoOther() async throws {
        let declared = try await Self.declaredOptions()
        let documented = try Self.documentedOptions()
        #expect(!declared.isEmpty && declared["mount"]?.contains("--uploads") == true, "the dump has the commands")
        #expect(Set(documented.keys) == Set(declared.keys), "a section per command: \(documented.keys.sorted())")
        for (command, options) in declared.sorted(by: { $0.key < $1.key }) {
            let written = documented[command] ?? []
            #expect(
                options.subtracting(written).isEmpty,
                "wxmediafs \(command): not in docs/configuration.md: \(options.subtracting(written).sorted())")
            #expect(
                written.subtracting(options).isEmpty,
                "wxmediafs \(command): documented but unknown: \(written.subtracting(options).sorted())")
        }
    }
}
