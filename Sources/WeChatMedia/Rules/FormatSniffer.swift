/// Recognises a media format from its leading bytes, never from a name.
public enum FormatSniffer {
    /// How many leading bytes `detect` needs at most.
    public static let prefixLength = 16

    /// The format whose signature `prefix` starts with, or nil.
    public static func detect(prefix: some Collection<UInt8>) -> MediaFormat? {
        let bytes = Array(prefix.prefix(prefixLength))
        func starts(with signature: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + signature.count
                && Array(bytes[offset..<offset + signature.count]) == signature
        }
        if starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts(with: Array("GIF87a".utf8)) || starts(with: Array("GIF89a".utf8)) { return .gif }
        if starts(with: Array("#!AMR-WB\n".utf8)) { return .amrWideband }
        if starts(with: Array("#!AMR\n".utf8)) { return .amr }
        if starts(with: Array("ftyp".utf8), at: 4) { return .mp4 }
        if starts(with: Array("ID3".utf8)) { return .mp3 }
        if bytes.count >= 4, MP3FrameHeader(bytes[0], bytes[1], bytes[2], bytes[3]) != nil { return .mp3 }
        return nil
    }
}
