import NIOCore
import WeChatEmulator
import WeChatMedia

/// What the fuzzers exercise, one function per target. Each must accept any bytes without
/// crashing, hanging or growing without bound; the regression test feeds them the inputs kept
/// under Fuzz/regressions.
public enum FuzzTargets {
    /// The format sniffers, the MP3/AMR duration counters and the MP4 walk, for every type and profile.
    public static func mediaRules(_ bytes: [UInt8]) {
        for profile in LimitsProfile.allCases {
            let rules = MediaRules(profile: profile)
            for type in MediaType.allCases {
                var source = MemoryByteSource(bytes)
                _ = try? rules.check(&source, as: type)
            }
        }
        var mp3 = MemoryByteSource(bytes)
        _ = try? AudioDuration.mp3Milliseconds(&mp3)
        var amr = MemoryByteSource(bytes)
        _ = try? AudioDuration.amrMilliseconds(&amr)
    }

    /// The client's reading of the server's answers: JSON bodies and Content-disposition.
    public static func apiReplies(_ bytes: [UInt8]) {
        if let reply = try? APIReply.parse(bytes) {
            _ = reply.error?.kind
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let name = ContentDisposition.filename(in: text) {
            precondition(!name.contains("/") && name != ".." && name != ".", "a server filename named a path: \(name)")
        }
        _ = Redaction.redact(text)
    }

    /// The emulator's multipart reading: the first byte picks a boundary length, the rest is the
    /// body, fed in chunks of varying size.
    public static func multipart(_ bytes: [UInt8]) {
        guard let first = bytes.first else { return }
        let boundaryLength = Int(first % 16) + 1
        let rest = Array(bytes.dropFirst())
        let boundary = String(decoding: rest.prefix(boundaryLength).map { $0 % 26 + 97 }, as: UTF8.self)
        let extractor = MultipartMediaExtractor(boundary: boundary, partLimit: 4096)
        var offset = 0
        var chunk = 1
        var total = 0
        while offset < rest.count {
            let end = min(rest.count, offset + chunk)
            guard let media = try? extractor.feed(ByteBuffer(bytes: rest[offset..<end])) else { return }
            total += media.readableBytes
            offset = end
            chunk = chunk % 97 + 1
        }
        precondition(total <= 4096 || extractor.media?.overLimit == true, "over the part limit without noticing")
        _ = HeaderValue(parsing: String(decoding: rest, as: UTF8.self))
    }
}
