import Hummingbird
import MultipartKit
import NIOCore
import NIOFileSystem

/// Streams a multipart body through MultipartKit's incremental parser, writing the first part
/// named `media` to a spool file and never holding more than one network chunk in memory; the
/// body's small text fields (`type`, `description`) are kept.
struct MultipartSpool {
    enum Outcome {
        /// The media part, and the body's text fields by name.
        case media(SpooledMedia, fields: [String: String])
        case noMediaPart
        case malformed
        /// More than `bodyLimit` bytes arrived: the caller refuses without reading further.
        case bodyTooLarge
    }

    let boundary: String
    let spoolPath: String
    let partLimit: Int64
    let bodyLimit: Int

    func run(_ body: RequestBody) async throws -> Outcome {
        let extractor = MultipartMediaExtractor(boundary: boundary, partLimit: partLimit)

        var received = 0
        let outcome: Outcome? = try await FileSystem.shared.withFileHandle(
            forWritingAt: FilePath(spoolPath), options: .newFile(replaceExisting: true)
        ) { handle in
            var offset: Int64 = 0
            for try await chunk in body {
                received += chunk.readableBytes
                if received > bodyLimit { return .bodyTooLarge }
                let media: ByteBuffer
                do {
                    media = try extractor.feed(chunk)
                } catch {
                    return .malformed
                }
                if media.readableBytes > 0 {
                    try await handle.write(contentsOf: media.readableBytesView, toAbsoluteOffset: offset)
                    offset += Int64(media.readableBytes)
                }
            }
            return nil
        }
        if let outcome { return outcome }
        guard let media = extractor.media else { return .noMediaPart }
        return .media(media, fields: extractor.fields)
    }
}
