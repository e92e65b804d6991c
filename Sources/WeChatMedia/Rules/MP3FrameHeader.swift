/// One MPEG audio frame header (ISO 11172-3 / 13818-3, with the MPEG 2.5 extension).
struct MP3FrameHeader: Equatable {
    /// Bytes the frame occupies, header included.
    let frameLength: Int
    /// PCM samples the frame decodes to.
    let samples: Int
    let sampleRate: Int

    private enum Version { case mpeg1, mpeg2, mpeg25 }

    private static let bitratesKbps: [[Int]] = [
        [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],  // MPEG1 layer I
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],  // MPEG1 layer II
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],  // MPEG1 layer III
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],  // MPEG2/2.5 layer I
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],  // MPEG2/2.5 layers II, III
    ]

    /// Nil unless the four bytes are a frame sync with legal fields (free-format frames excluded:
    /// their length cannot be known from the header).
    init?(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        guard b0 == 0xFF, b1 & 0xE0 == 0xE0 else { return nil }
        let version: Version
        switch (b1 >> 3) & 0x3 {
        case 0: version = .mpeg25
        case 2: version = .mpeg2
        case 3: version = .mpeg1
        default: return nil
        }
        let layer: Int
        switch (b1 >> 1) & 0x3 {
        case 1: layer = 3
        case 2: layer = 2
        case 3: layer = 1
        default: return nil
        }
        let bitrateIndex = Int(b2 >> 4)
        let rateIndex = Int((b2 >> 2) & 0x3)
        guard bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3 else { return nil }
        let padding = Int((b2 >> 1) & 0x1)
        let table: Int
        switch (version, layer) {
        case (.mpeg1, let l): table = l - 1
        case (_, 1): table = 3
        default: table = 4
        }
        let bitrate = Self.bitratesKbps[table][bitrateIndex] * 1000
        let baseRates = [44100, 48000, 32000]
        let sampleRate: Int
        switch version {
        case .mpeg1: sampleRate = baseRates[rateIndex]
        case .mpeg2: sampleRate = baseRates[rateIndex] / 2
        case .mpeg25: sampleRate = baseRates[rateIndex] / 4
        }
        let samples: Int
        let length: Int
        switch layer {
        case 1:
            samples = 384
            length = (12 * bitrate / sampleRate + padding) * 4
        case 2:
            samples = 1152
            length = 144 * bitrate / sampleRate + padding
        default:
            samples = version == .mpeg1 ? 1152 : 576
            length = (version == .mpeg1 ? 144 : 72) * bitrate / sampleRate + padding
        }
        guard length >= 4 else { return nil }
        self.frameLength = length
        self.samples = samples
        self.sampleRate = sampleRate
    }
}
