import MultipartKit
import NIOCore

/// What came in the `media` part of an upload, its bytes already on disk.
public struct SpooledMedia: Sendable, Equatable {
    /// The part's `filename` parameter; nil when it had none.
    public var filename: String?
    /// Whether the part named its file with RFC 2231's `filename*=`, which the platform refuses.
    public var usesExtendedFilename = false
    public var size: Int64 = 0
    /// The bytes went past `partLimit`; the rest were read and dropped.
    public var overLimit = false
}

/// Finds the first part named `media` in a multipart body fed chunk by chunk (MultipartKit's
/// incremental parser underneath), handing back its bytes as they come: no more than one chunk
/// is ever held. Pure and in memory, so a fuzzer can drive it.
public final class MultipartMediaExtractor {
    private let parser: MultipartParser
    private let collector: Collector

    public init(boundary: String, partLimit: Int64) {
        parser = MultipartParser(boundary: boundary.isEmpty ? "-" : boundary)
        collector = Collector()
        collector.partLimit = partLimit
        let collector = self.collector
        parser.onHeader = { name, value in collector.headers.append((name, value)) }
        parser.onBody = { buffer in collector.body(buffer) }
        parser.onPartComplete = { collector.partComplete() }
    }

    /// Parses `chunk` and returns the media bytes it carried; throws on malformed multipart.
    public func feed(_ chunk: ByteBuffer) throws -> ByteBuffer {
        try parser.execute(chunk)
        // Hand the bytes over and start afresh (clearing a shared buffer would copy it).
        let media = collector.pending
        collector.pending = ByteBuffer()
        return media
    }

    /// The media part seen so far, if any.
    public var media: SpooledMedia? { collector.media }
}

/// Parser events between two feeds; the parser's callbacks are synchronous.
private final class Collector {
    var headers: [(String, String)] = []
    var inMedia = false
    var mediaDone = false
    var media: SpooledMedia?
    /// Body bytes since the last write, coalesced: the parser hands them over in small pieces.
    var pending = ByteBuffer()
    var partLimit: Int64 = 0

    func startBody() {
        guard !inMedia, !mediaDone, media == nil else { return }
        let disposition = headers.first { $0.0.lowercased() == "content-disposition" }.map {
            HeaderValue(parsing: $0.1)
        }
        guard let disposition, disposition.parameters["name"] == "media" else { return }
        inMedia = true
        media = SpooledMedia(
            filename: disposition.parameters["filename"],
            usesExtendedFilename: disposition.parameters["filename*"] != nil)
    }

    func body(_ buffer: ByteBuffer) {
        if media == nil, !mediaDone { startBody() }
        guard inMedia, var current = media else { return }
        current.size += Int64(buffer.readableBytes)
        if current.size > partLimit {
            current.overLimit = true
            pending.clear()
        } else {
            var buffer = buffer
            pending.writeBuffer(&buffer)
        }
        media = current
    }

    func partComplete() {
        if inMedia {
            inMedia = false
            mediaDone = true
        } else if media == nil, headers.contains(where: { $0.0.lowercased() == "content-disposition" }) {
            // An empty media part gets no body callback: still record it.
            startBody()
            if inMedia {
                inMedia = false
                mediaDone = true
            }
        }
        headers = []
    }
}
