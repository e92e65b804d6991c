import EmulatorTestSupport
import Foundation
import Testing

/// The mount checks the most permissive documented limits (`current`) unless told `--limits
/// seed`; the emulator keeps the seed's; `mount --emulator` runs both sides under one profile.
@Suite("Limits profiles: current for the mount, seed for the emulator")
struct LimitsProfileTests {
    /// A 2 MiB JPEG (over the seed's 1 MiB) and a PNG (not the seed's format), copied in.
    static let copies = #"""
        head -c 2097152 /dev/zero | { printf '\xff\xd8\xff\xe0'; cat; } >"$M/../big.jpg"
        cp "$M/../big.jpg" "$M/image/big.jpg" 2>&1 && echo "big: ok"
        cp "$S/cat.png" "$M/image/cat.png" 2>&1 && echo "png: ok"
        true
        """#

    @Test func mountEmulatorRunsBothSidesUnderCurrentUnlessTold() async throws {
        let folder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: folder) }
        try await MountProcess.with(folder: folder, arguments: ["--emulator", "--cache-dir", folder + "/cache"]) { m in
            let result = try await m.shell(Self.copies)
            #expect(result.stdout.contains("big: ok") && result.stdout.contains("png: ok"), "\(result.stdout)")
            #expect(m.log.contains("emulator in-process under the current limits"), "\(m.log)")
        }
        let seedFolder = try TemporaryDirectory.make()
        defer { MountFixture.cleanUp(folder: seedFolder) }
        try await MountProcess.with(
            folder: seedFolder, arguments: ["--emulator", "--limits", "seed", "--cache-dir", seedFolder + "/cache"]
        ) { m in
            let result = try await m.shell(Self.copies)
            #expect(result.stdout.contains("File too large"), "the seed's 1 MiB: \(result.stdout)")
            #expect(result.stdout.contains("Invalid argument"), "the seed takes JPEG only: \(result.stdout)")
            #expect(m.log.contains("emulator in-process under the seed limits"), "\(m.log)")
        }
    }

    /// A mount without `--limits` on a seed emulator: the PNG passes the local check, the server
    /// refuses it with 40005, and that is EINVAL as the errno table says.
    @Test func aDefaultMountSendsWhatTheSeedServerRefusesAndMapsItsRefusal() async throws {
        try await EmulatorFixture.with { emulator in
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            try await MountProcess.with(
                folder: folder, arguments: try MountFixture.account(emulator: emulator, folder: folder)
            ) { m in
                let result = try await m.shell(#"cp "$S/cat.png" "$M/image/cat.png""#)
                #expect(result.stderr.contains("Invalid argument"), "\(result.stderr)")
                let line = m.log.split(separator: "\n").first { $0.contains("upload image/cat.png: ") } ?? ""
                #expect(line.contains("EINVAL (errcode 40005, invalid file type"), "the server's words: \(line)")
                #expect(try await emulator.counters()["upload"] == 1, "sent: the local check let it through")
            }
        }
    }

    @Test func theHelpSaysEachDefault() async throws {
        // The help wraps at the terminal's width: compare with the white space folded.
        func help(_ command: String) async throws -> String {
            try await Command.run(Command.wxmediafsPath, ["help", command]).stdout
                .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        let mount = try await help("mount")
        #expect(mount.contains("(values: seed, current; default: current)"), "\(mount)")
        let emulator = try await help("emulator")
        #expect(emulator.contains("(values: seed, current; default: seed)"), "\(emulator)")
    }
}
