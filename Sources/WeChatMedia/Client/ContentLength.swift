/// Reads a `Content-Length` header of a download. Its value becomes the size a file is listed
/// with and the count its body is checked against, so only plain decimal digits up to
/// `largest` are believed; a negative, non-numeric or absurd value is refused, never made a size.
public enum ContentLength {
    /// 1 TiB: far above any media the platform keeps (video is 10 MB), far below overflow.
    public static let largest: Int64 = 1 << 40

    /// The length `header` states; nil when there is no header.
    public static func parse(_ header: String?) throws(TransportError) -> Int64? {
        guard let header else { return nil }
        let digits = header.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard digits, let length = Int64(header), length <= largest else {
            throw .invalidResponse(
                "Content-Length \(JSONScalar.text(header)) is not a size of 0...\(largest) bytes")
        }
        return length
    }
}
