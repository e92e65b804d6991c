import Foundation

/// The small real media files the tests carry, and synthetic files made to exact sizes and lengths.
public enum Samples {
    /// The path of a fixture (`cat.jpg`, `thumb.jpg`, `cat.png`, `hello.mp3`, `hello.amr`,
    /// `long70s.mp3`, `long70s.amr`, `clip.mp4`).
    public static func path(_ name: String) -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("fixture \(name) is missing from the test bundle")
        }
        return url.path
    }

    /// The folder the fixtures are in (`$S` in test scripts).
    public static var folder: String {
        URL(fileURLWithPath: path("cat.jpg")).deletingLastPathComponent().path
    }

    public static func bytes(_ name: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: path(name)) ?? Data())
    }

    /// A JPEG signature padded with zeros to exactly `size` bytes (the rules look at magic bytes only).
    public static func jpeg(size: Int) -> [UInt8] {
        let head: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0]
        return head + [UInt8](repeating: 0, count: max(0, size - head.count))
    }

    /// An AMR-NB file of `frames` 12.2 kbit/s frames (20 ms each).
    public static func amr(frames: Int) -> [UInt8] {
        var bytes = Array("#!AMR\n".utf8)
        let frame = [UInt8(7 << 3 | 0x04)] + [UInt8](repeating: 0x55, count: 31)
        for _ in 0..<frames { bytes += frame }
        return bytes
    }

    /// An MP3 of `frames` MPEG-2 layer III frames at 24 kHz, 64 kbit/s: 192 bytes and exactly 24 ms each.
    public static func mp3(frames: Int) -> [UInt8] {
        let frame: [UInt8] = [0xFF, 0xF3, 0x84, 0xC4] + [UInt8](repeating: 0, count: 188)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames * frame.count)
        for _ in 0..<frames { bytes += frame }
        return bytes
    }

    /// A structurally whole MP4 (ftyp, moov, mdat) of exactly `size` bytes with random payload.
    public static func mp4(size: Int) -> [UInt8] {
        func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
            let length = UInt32(8 + payload.count)
            return withUnsafeBytes(of: length.bigEndian, Array.init) + Array(type.utf8) + payload
        }
        let ftyp = box("ftyp", Array("isom".utf8) + [0, 0, 2, 0] + Array("isomiso2mp41".utf8))
        let moov = box("moov", [])
        let payloadSize = size - ftyp.count - moov.count - 8
        return ftyp + moov + box("mdat", randomBytes(payloadSize))
    }

    /// `count` random bytes, made eight at a time (byte by byte is slow in debug builds).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var words = (0..<(count + 7) / 8).map { _ in generator.next() }
        return words.withUnsafeMutableBytes { Array($0.prefix(count)) }
    }

    /// Writes `bytes` to a new file named `name` in a fresh temporary folder and returns its path.
    public static func write(_ bytes: [UInt8], named name: String) throws -> String {
        let directory = try TemporaryDirectory.make()
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Fresh folders under the system's temporary directory, one per test. They all live under one
/// folder of this test process, removed when it exits: a test that fails before its own clean-up
/// (or an emulator's data dir, a sample file) leaves nothing behind in /tmp.
public enum TemporaryDirectory {
    static let root: String = {
        let path = NSTemporaryDirectory() + "wxmediafs-test-\(getpid())"
        atexit { try? FileManager.default.removeItem(atPath: TemporaryDirectory.root) }
        return path
    }()

    public static func make() throws -> String {
        let path = root + "/" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
