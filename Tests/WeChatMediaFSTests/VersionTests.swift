import EmulatorTestSupport
import Foundation
import Testing

/// `wxmediafs --version` and `wxmediafs version` tell the release and the commit built from.
@Suite("Version")
struct VersionTests {
    @Test func bothSpellingsTellTheReleaseAndTheCommit() async throws {
        let binary = try #require(Command.builtExecutable("wxmediafs"), "the wxmediafs binary is built")
        let flag = try await Command.run(binary, ["--version"])
        let command = try await Command.run(binary, ["version"])
        #expect(flag.status == 0 && command.status == 0, "\(flag.stderr)\(command.stderr)")
        #expect(flag.stdout == command.stdout)
        #expect(
            flag.stdout.wholeMatch(of: #/wxmediafs \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n/#) != nil,
            "\(flag.stdout)")
        // Built from this checkout: the commit is the one git names, not "unknown".
        let head = try await Command.run(
            "/usr/bin/git", ["-C", DocumentationTests.repository.path, "rev-parse", "--short=12", "HEAD"])
        if head.status == 0 {
            #expect(flag.stdout.contains("(commit \(head.stdout.trimmingCharacters(in: .newlines))"), "\(flag.stdout)")
        }
    }
}
