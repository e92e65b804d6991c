import EmulatorTestSupport
import Foundation
import Testing

/// Replays what the fuzzers found (Fuzz/regressions), the real samples and a few edge inputs
/// through every fuzz target, so a fixed crash stays fixed. Each target runs as its replay
/// executable in a child process, one input at a time: an input that crashes a target fails
/// this test with the input's name, instead of killing the whole test process.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    /// The replay executables `swift build` makes of Fuzz/*/ (they replay the files they are given).
    static let targets = ["FuzzMediaRules", "FuzzAPIReplies", "FuzzMultipart"]

    /// Every input as a file: the kept regressions, the samples, and edge cases written to `folder`.
    static func inputFiles(edgeCasesIn folder: String) throws -> [String] {
        let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/regressions").standardizedFileURL.path
        let kept = try FileManager.default.contentsOfDirectory(atPath: regressions)
            .filter { !$0.hasPrefix(".") }.sorted().map { regressions + "/" + $0 }
        let samples = ["cat.jpg", "cat.png", "hello.mp3", "hello.amr", "long70s.amr", "clip.mp4"].map(Samples.path)
        let edgeCases: [(String, [UInt8])] = [
            ("empty", []), ("ff", [0xFF]), ("amr-magic", Array("#!AMR\n".utf8)), ("id3", Array("ID3".utf8)),
        ]
        let written = try edgeCases.map { name, bytes in
            let path = folder + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            return path
        }
        return kept + samples + written
    }

    @Test func everyKeptInputPassesEveryTarget() async throws {
        let folder = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let inputs = try Self.inputFiles(edgeCasesIn: folder)
        #expect(inputs.count >= 10)
        for target in Self.targets {
            let executable = try #require(Command.builtExecutable(target), "\(target) was not built beside the tests")
            for input in inputs {
                let result = try await Command.run(executable, [input])
                let name = URL(fileURLWithPath: input).lastPathComponent
                if let signal = result.signal {
                    Issue.record("\(target) crashed on \(name) (signal \(signal)): \(result.stderr)")
                } else if result.status != 0 {
                    Issue.record("\(target) failed on \(name) (exit status \(result.status)): \(result.stderr)")
                }
            }
        }
    }
}
