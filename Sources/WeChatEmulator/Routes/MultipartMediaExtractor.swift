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

    /// The body's text fields (parts with a name and no file name) seen so far, by name: the
    /// first of each name, each up to 64 KiB.
    public var fields: [String: String] { collector.fields }
}

/// Parser events between two feeds; the parser's callbacks are synchronous.
private final class Collector {
    /// A text field is kept up to this size; a longer one is dropped.
    static let fieldLimit = 64 * 1024

    var headers: [(String, String)] = []
    var partStarted = false
    var inMedia = false
    var mediaDone = false
    var media: SpooledMedia?
    /// The text field being read (a part with a name and no file name), and its bytes.
    var field: String?
    var fieldBytes: [UInt8] = []
    var fields: [String: String] = [:]
    /// Body bytes since the last write, coalesced: the parser hands them over in small pieces.
    var pending = ByteBuffer()
    var partLimit: Int64 = 0

    func startPart() {
        partStarted = true
        let disposition = headers.first { $0.0.lowercased() == "content-disposition" }.map {
            HeaderValue(parsing: $0.1)
        }
        guard let disposition, let name = disposition.parameters["name"] else { return }
        if name == "media" {
            guard !mediaDone, media == nil else { return }
            inMedia = true
            media = SpooledMedia(
                filename: disposition.parameters["filename"],
                usesExtendedFilename: disposition.parameters["filename*"] != nil)
        } else if disposition.parameters["filename"] == nil, disposition.parameters["filename*"] == nil,
            fields[name] == nil
        {
            field = name
            fieldBytes = []
        }
    }

    func body(_ buffer: ByteBuffer) {
        if !partStarted { startPart() }
        if field != nil {
            fieldBytes += buffer.readableBytesView
            if fieldBytes.count > Self.fieldLimit { field = nil }
            return
        }
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
        // An empty part gets no body callback.
        if !partStarted { startPart() }
        if inMedia {
            inMedia = false
            mediaDone = true
        }
        if let field {
            fields[field] = String(decoding: fieldBytes, as: UTF8.self)
            self.field = nil
        }
        headers = []
        partStarted = false
    }
}
