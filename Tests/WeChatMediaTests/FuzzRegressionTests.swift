import EmulatorTestSupport
import Foundation
import FuzzTargets
import Testing

/// Replays what the fuzzers found (Fuzz/regressions) and the real samples through every fuzz
/// target, so a fixed crash stays fixed.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    static var inputs: [[UInt8]] {
        let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/regressions").standardizedFileURL.path
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: regressions)) ?? [])
            .filter { !$0.hasPrefix(".") }
            .compactMap { FileManager.default.contents(atPath: regressions + "/" + $0).map(Array.init) }
        let samples = ["cat.jpg", "cat.png", "hello.mp3", "hello.amr", "long70s.amr", "clip.mp4"].map(Samples.bytes)
        return files + samples + [[], [0xFF], Array("#!AMR\n".utf8), Array("ID3".utf8)]
    }

    @Test func everyKeptInputPassesEveryTarget() {
        let inputs = Self.inputs
        #expect(inputs.count >= 10)
        for input in inputs {
            FuzzTargets.mediaRules(input)
            FuzzTargets.apiReplies(input)
            FuzzTargets.multipart(input)
        }
    }
}
