/// Playing time of MP3 and AMR files, by walking their frames (no decoding).
public enum AudioDuration {
    public enum Failure: Error, Equatable {
        /// No complete audio frame where one must be.
        case noFrames
        /// A byte sequence the format does not allow (AMR's reserved frame types, bad header).
        case malformed(offset: Int)
    }

    /// Milliseconds of audio in an MP3 file: every complete frame after any ID3v2 tag, up to an
    /// ID3v1/APE trailer, trailing junk or a frame cut short by the end of the file.
    public static func mp3Milliseconds(_ source: inout some ByteSource) throws -> Int {
        var offset = 0
        if let tag = try source.exactly(at: 0, length: 10), Array(tag.prefix(3)) == Array("ID3".utf8) {
            let t = Array(tag)
            let size = t[6...9].reduce(0) { ($0 << 7) | Int($1 & 0x7F) }
            offset = 10 + size + (t[5] & 0x10 != 0 ? 10 : 0)
        }
        // Encoders may pad after the tag: find the first frame within a bounded distance.
        let searchLimit = min(source.count, offset + 64 * 1024)
        var first: Int?
        while offset + 4 <= searchLimit {
            if let h = try source.exactly(at: offset, length: 4),
                MP3FrameHeader(h[h.startIndex], h[h.startIndex + 1], h[h.startIndex + 2], h[h.startIndex + 3]) != nil
            {
                first = offset
                break
            }
            offset += 1
        }
        guard var position = first else { throw Failure.noFrames }
        // Samples per sample rate, so a constant-rate file is divided once and stays exact.
        var samplesByRate: [Int: Int] = [:]
        var isFirstFrame = true
        while let h = try source.exactly(at: position, length: 4),
            let header = MP3FrameHeader(h[h.startIndex], h[h.startIndex + 1], h[h.startIndex + 2], h[h.startIndex + 3])
        {
            guard position + header.frameLength <= source.count else { break }
            // A Xing/Info frame (encoders put one first) describes the stream and holds no audio.
            let isInfoFrame =
                try isFirstFrame && Self.isXingOrInfoFrame(&source, at: position, length: header.frameLength)
            if !isInfoFrame {
                samplesByRate[header.sampleRate, default: 0] += header.samples
            }
            isFirstFrame = false
            position += header.frameLength
        }
        guard !samplesByRate.isEmpty else { throw Failure.noFrames }
        let totalMilliseconds = samplesByRate.reduce(0.0) { $0 + Double($1.value) * 1000 / Double($1.key) }
        return Int(totalMilliseconds.rounded(.up))
    }

    private static func isXingOrInfoFrame(_ source: inout some ByteSource, at position: Int, length: Int) throws -> Bool
    {
        // The tag sits right after the side information: at most 4 + 2 + 32 bytes into the frame.
        let head = Array(try source.bytes(at: position, length: min(length, 48)))
        let tags = [Array("Xing".utf8), Array("Info".utf8)]
        guard head.count >= 8 else { return false }
        return (4...(head.count - 4)).contains { offset in tags.contains { Array(head[offset..<offset + 4]) == $0 } }
    }

    /// Milliseconds of audio in an AMR-NB or AMR-WB file (RFC 4867 storage format): 20 ms a frame.
    public static func amrMilliseconds(_ source: inout some ByteSource) throws -> Int {
        let narrowMagic = Array("#!AMR\n".utf8)
        let wideMagic = Array("#!AMR-WB\n".utf8)
        let frameBytes: [Int?]
        var position: Int
        if let head = try source.exactly(at: 0, length: wideMagic.count), Array(head) == wideMagic {
            // AMR-WB frame types 0-8 speech, 9 SID, 14-15 lost/no data; 10-13 reserved.
            frameBytes = [18, 24, 33, 37, 41, 47, 51, 59, 61, 6, nil, nil, nil, nil, 1, 1]
            position = wideMagic.count
        } else if let head = try source.exactly(at: 0, length: narrowMagic.count), Array(head) == narrowMagic {
            // AMR-NB frame types 0-7 speech, 8 SID, 15 no data; 9-14 reserved.
            frameBytes = [13, 14, 16, 18, 20, 21, 27, 32, 6, nil, nil, nil, nil, nil, nil, 1]
            position = narrowMagic.count
        } else {
            throw Failure.malformed(offset: 0)
        }
        var frames = 0
        while position < source.count {
            guard let toc = try source.exactly(at: position, length: 1)?.first else { break }
            guard let length = frameBytes[Int((toc >> 3) & 0x0F)] else {
                throw Failure.malformed(offset: position)
            }
            guard position + length <= source.count else {
                throw Failure.malformed(offset: position)
            }
            frames += 1
            position += length
        }
        guard frames > 0 else { throw Failure.noFrames }
        return frames * 20
    }
}
