import EmulatorTestSupport
import Foundation
import Testing

/// Values on the command line that do not fit, or make no sense, end in a usage error naming the
/// option (exit code 64), never in a trap: `--media-ttl 9223372036854775807d` used to multiply
/// past Int64 and kill the process with SIGTRAP.
@Suite("Command line: out-of-range values are usage errors")
struct CommandLineBoundsTests {
    static let refused: [(option: String, value: String)] = [
        ("--media-ttl", "9223372036854775807d"),
        ("--media-ttl", "99999999999999999999999"),
        ("--media-ttl", "0"),
        ("--media-ttl", "3651d"),
        ("--request-timeout", "9223372036854775807s"),
        ("--request-timeout", "9223372036854775807d"),
        ("--request-timeout", "0s"),
        ("--request-timeout", "25h"),
        ("--cache-max-size", "9223372036854775807P"),
        ("--cache-max-size", "99999999999999999999"),
        ("--cache-max-size", "1025T"),
        ("--log-file-max-size", "9223372036854775807G"),
        ("--log-file-max-size", "1"),
        ("--appid", "../../etc"),
        ("--cache-min-free", "51%"),
        ("--cache-min-free", "9223372036854775807P"),
        ("--cache-min-free", "-5%"),
    ]

    @Test("refused with exit code 64 and the option named", arguments: refused.indices)
    func outOfRange(index: Int) async throws {
        let (option, value) = Self.refused[index]
        let folder = try TemporaryDirectory.make()
        let result = try await Command.run(
            Command.wxmediafsPath, ["mount", folder + "/mnt", "--emulator", option, value])
        #expect(result.status == 64, "\(option) \(value): \(result.status) \(result.stderr)")
        #expect(result.stderr.contains(option), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/mnt"), "refused before anything was done")
    }

    @Test func theBoundsThemselvesAreAccepted() async throws {
        // Each bound passes, so the one refusal left is the last option's.
        let folder = try TemporaryDirectory.make()
        let result = try await Command.run(
            Command.wxmediafsPath,
            [
                "mount", folder + "/mnt", "--emulator", "--media-ttl", "3650d", "--cache-max-size", "1P",
                "--log-file-max-size", "1K", "--request-timeout", "1d", "--media-ttl", "1s", "--cache-max-size", "0",
                "--request-timeout", "86401",
            ])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--request-timeout 86401 is out of range: give 1s to 1d"), "\(result.stderr)")
        #expect(!result.stderr.contains("--media-ttl") && !result.stderr.contains("--cache-max-size"))
    }
}
