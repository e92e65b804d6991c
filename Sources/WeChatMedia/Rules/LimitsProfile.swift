/// Which era of the API's limits to apply. The seed doc (2014) is the default; `current` follows
/// today's docs, where images may be 10 MB of PNG, JPEG or GIF.
public enum LimitsProfile: String, Sendable, CaseIterable, Codable {
    case seed
    case current

    private static let kibibyte = 1024
    private static let mebibyte = 1024 * 1024

    /// The largest file accepted for `type`, in bytes (inclusive).
    public func maxSize(for type: MediaType) -> Int {
        switch (self, type) {
        case (.seed, .image): 1 * Self.mebibyte
        case (.current, .image): 10 * Self.mebibyte
        case (_, .voice): 2 * Self.mebibyte
        case (_, .video): 10 * Self.mebibyte
        case (_, .thumb): 64 * Self.kibibyte
        }
    }

    /// The formats accepted for `type`.
    public func formats(for type: MediaType) -> Set<MediaFormat> {
        switch (self, type) {
        case (.seed, .image): [.jpeg]
        case (.current, .image): [.jpeg, .png, .gif]
        case (_, .voice): [.mp3, .amr, .amrWideband]
        case (_, .video): [.mp4]
        case (_, .thumb): [.jpeg]
        }
    }

    /// The longest voice accepted, in milliseconds (inclusive).
    public var maxVoiceMilliseconds: Int { 60_000 }

    /// The largest file of any type.
    public var largestFile: Int { MediaType.allCases.map(maxSize(for:)).max() ?? 0 }

    /// The largest request body worth reading at all: the biggest file plus room for multipart framing.
    public var maxRequestBodySize: Int { largestFile + Self.mebibyte }

    /// Whether video downloads answer with `{"video_url": ...}` (current) or are refused (seed).
    public var servesVideoURL: Bool { self == .current }
}
