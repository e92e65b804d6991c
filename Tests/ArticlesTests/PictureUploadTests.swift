import Articles
import Testing

@Suite("Pictures: format by magic bytes, and which upload gives each its URL")
struct PictureUploadTests {
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46]
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    static let gif = Array("GIF89a\u{1}\u{0}".utf8)
    static let bmp: [UInt8] = [0x42, 0x4D, 0x3A, 0x00, 0x00, 0x00, 0x00, 0x00]
    static let megabyte = 1_048_576

    @Test func formatsAreRecognisedByContent() {
        #expect(PictureFormat.detect(prefix: Self.jpeg) == .jpeg)
        #expect(PictureFormat.detect(prefix: Self.png) == .png)
        #expect(PictureFormat.detect(prefix: Self.gif) == .gif)
        #expect(PictureFormat.detect(prefix: Array("GIF87a..".utf8)) == .gif)
        #expect(PictureFormat.detect(prefix: Self.bmp) == .bmp)
        #expect(PictureFormat.detect(prefix: Array("RIFF....WEBP".utf8)) == nil)
        #expect(PictureFormat.detect(prefix: Array("<svg>".utf8)) == nil)
        #expect(PictureFormat.detect(prefix: []) == nil)
    }

    static let destinationCases: [([UInt8], Int, PictureUse, PictureUpload)] = [
        (jpeg, 9_059, .body, .articleImage),
        (png, megabyte, .body, .articleImage),
        (jpeg, megabyte + 1, .body, .permanentMaterial),
        (png, 2 * megabyte, .body, .permanentMaterial),
        (gif, 1_000, .body, .permanentMaterial),
        (bmp, 1_000, .body, .permanentMaterial),
        (jpeg, 9_059, .cover, .permanentMaterial),
        (jpeg, 9_059, [.body, .cover], .permanentMaterial),
        (gif, 10 * megabyte, .cover, .permanentMaterial),
    ]

    @Test(
        "JPEG and PNG up to 1 MB are article images; the rest, and every cover, permanent material",
        arguments: destinationCases)
    func destinations(prefix: [UInt8], size: Int, use: PictureUse, expected: PictureUpload) throws {
        #expect(try PictureUpload.choose(name: "p", prefix: prefix, size: size, use: use) == expected)
    }

    @Test func whatIsNoPictureOrTooLargeIsRefusedByName() {
        #expect(throws: ArticleError(file: "notes.txt", problem: .notAPicture)) {
            try PictureUpload.choose(name: "notes.txt", prefix: Array("hello".utf8), size: 5, use: .body)
        }
        #expect(
            throws: ArticleError(
                file: "huge.gif", problem: .pictureTooLarge(bytes: 10 * Self.megabyte + 1, limit: 10 * Self.megabyte))
        ) {
            try PictureUpload.choose(name: "huge.gif", prefix: Self.gif, size: 10 * Self.megabyte + 1, use: .body)
        }
    }
}
