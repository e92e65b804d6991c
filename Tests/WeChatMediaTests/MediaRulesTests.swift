import EmulatorTestSupport
import Testing
import WeChatMedia

@Suite("Media rules: size, format by magic bytes, voice length, MP4 structure")
struct MediaRulesTests {
    let seed = MediaRules(profile: .seed)
    let current = MediaRules(profile: .current)

    func check(_ bytes: [UInt8], as type: MediaType, rules: MediaRules? = nil) throws(MediaRuleViolation) -> MediaFormat
    {
        var source = MemoryByteSource(bytes)
        return try (rules ?? seed).check(&source, as: type)
    }

    @Test(
        "the shared samples do what their README says",
        arguments: [
            ("cat.jpg", MediaType.image, MediaFormat.jpeg),
            ("thumb.jpg", .thumb, .jpeg),
            ("hello.mp3", .voice, .mp3),
            ("hello.amr", .voice, .amr),
            ("clip.mp4", .video, .mp4),
        ])
    func samplesAccepted(name: String, type: MediaType, format: MediaFormat) throws {
        #expect(try seed.check(fileAt: Samples.path(name), as: type) == format)
    }

    @Test func pngIsRefusedAsImageUnderSeedAndAcceptedUnderCurrent() throws {
        #expect(throws: MediaRuleViolation.formatNotAllowed(type: .image, format: .png)) {
            try seed.check(fileAt: Samples.path("cat.png"), as: .image)
        }
        #expect(try current.check(fileAt: Samples.path("cat.png"), as: .image) == .png)
    }

    @Test("voice over 60 s is refused", arguments: ["long70s.mp3", "long70s.amr"])
    func longVoiceRefused(name: String) {
        #expect {
            try seed.check(fileAt: Samples.path(name), as: .voice)
        } throws: { error in
            guard case .tooLong(let ms, 60_000) = error as? MediaRuleViolation else { return false }
            return (69_000...71_000).contains(ms)
        }
    }

    @Test func sampleDurationsAreCounted() throws {
        var mp3 = MemoryByteSource(Samples.bytes("hello.mp3"))
        var amr = MemoryByteSource(Samples.bytes("hello.amr"))
        let mp3Milliseconds = try AudioDuration.mp3Milliseconds(&mp3)
        #expect((4_900...5_100).contains(mp3Milliseconds), "\(mp3Milliseconds) ms")
        #expect(try AudioDuration.amrMilliseconds(&amr) == 5_000)
    }

    @Test func voiceOfExactly60SecondsIsAcceptedAndOneFrameMoreIsNot() throws {
        #expect(try check(Samples.amr(frames: 3000), as: .voice) == .amr)
        #expect(throws: MediaRuleViolation.tooLong(milliseconds: 60_020, limit: 60_000)) {
            try check(Samples.amr(frames: 3001), as: .voice)
        }
        #expect(try check(Samples.mp3(frames: 2500), as: .voice) == .mp3)
        #expect(throws: MediaRuleViolation.tooLong(milliseconds: 60_024, limit: 60_000)) {
            try check(Samples.mp3(frames: 2501), as: .voice)
        }
    }

    @Test("sizes exactly at each limit pass and one byte over fails", arguments: MediaType.allCases)
    func sizeLimits(type: MediaType) throws {
        let limit = LimitsProfile.seed.maxSize(for: type)
        let atLimit: [UInt8]
        switch type {
        case .image, .thumb: atLimit = Samples.jpeg(size: limit)
        case .video: atLimit = Samples.mp4(size: limit)
        case .voice: atLimit = Samples.mp3(frames: 20) + [UInt8](repeating: 0, count: limit - 20 * 192)
        }
        #expect(atLimit.count == limit)
        _ = try check(atLimit, as: type)
        #expect(throws: MediaRuleViolation.tooLarge(type: type, size: limit + 1, limit: limit)) {
            try check(atLimit + [0], as: type)
        }
    }

    @Test func emptyAndUnknownContentIsRefused() {
        #expect(throws: MediaRuleViolation.empty) { try check([], as: .image) }
        #expect(throws: MediaRuleViolation.unrecognizedFormat(type: .image)) {
            try check(Array("just some text, named cat.jpg".utf8), as: .image)
        }
        #expect(throws: MediaRuleViolation.formatNotAllowed(type: .voice, format: .jpeg)) {
            try check(Samples.bytes("cat.jpg"), as: .voice)
        }
        #expect(throws: MediaRuleViolation.formatNotAllowed(type: .thumb, format: .png)) {
            try check(Samples.bytes("cat.png"), as: .thumb, rules: current)
        }
    }

    @Test func truncatedFilesAreRefused() {
        let mp4 = Samples.bytes("clip.mp4")
        #expect {
            try check(Array(mp4.prefix(mp4.count / 2)), as: .video)
        } throws: { error in
            if case .malformed(.mp4, _) = error as? MediaRuleViolation { return true }
            return false
        }
        let amr = Samples.amr(frames: 10)
        #expect {
            try check(Array(amr.dropLast(5)), as: .voice)
        } throws: { error in
            if case .malformed(.amr, _) = error as? MediaRuleViolation { return true }
            return false
        }
        #expect {
            try check(Array("#!AMR\n".utf8), as: .voice)
        } throws: { error in
            if case .malformed(.amr, _) = error as? MediaRuleViolation { return true }
            return false
        }
        // An MP3 cut inside its last frame still plays: the complete frames count.
        let mp3 = Samples.mp3(frames: 10)
        #expect(throws: Never.self) { try check(Array(mp3.dropLast(50)), as: .voice) }
        // ...but a lone ID3 tag with no frame is not audio.
        #expect {
            try check(Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 0], as: .voice)
        } throws: { error in
            if case .malformed(.mp3, _) = error as? MediaRuleViolation { return true }
            return false
        }
    }

    @Test func violationsCarryTheServersErrcodes() {
        #expect(MediaRuleViolation.empty.errorCode == .emptyMediaData)
        #expect(MediaRuleViolation.tooLarge(type: .image, size: 2, limit: 1).errorCode.rawValue == 40009)
        #expect(MediaRuleViolation.tooLarge(type: .voice, size: 2, limit: 1).errorCode.rawValue == 40010)
        #expect(MediaRuleViolation.tooLarge(type: .video, size: 2, limit: 1).errorCode.rawValue == 40011)
        #expect(MediaRuleViolation.tooLarge(type: .thumb, size: 2, limit: 1).errorCode.rawValue == 40012)
        #expect(MediaRuleViolation.unrecognizedFormat(type: .image).errorCode.rawValue == 40005)
        #expect(MediaRuleViolation.tooLong(milliseconds: 70_000, limit: 60_000).errorCode.rawValue == 45007)
    }

    @Test func filenameExtensionsAreJudgedPerTypeAndProfile() {
        #expect(seed.acceptsFilename("cat.jpg", as: .image))
        #expect(seed.acceptsFilename("CAT.JPEG", as: .image))
        #expect(!seed.acceptsFilename("cat.png", as: .image))
        #expect(current.acceptsFilename("cat.png", as: .image))
        #expect(!seed.acceptsFilename("cat", as: .image))
        #expect(!seed.acceptsFilename(".jpg", as: .image))
        #expect(seed.acceptsFilename("a.amr", as: .voice))
        #expect(!seed.acceptsFilename("a.mp4", as: .voice))
    }
}

@Suite("Query strings and redaction")
struct QueryAndRedactionTests {
    @Test func everythingOutsideTheUnreservedSetIsEscaped() {
        #expect(QueryString.escape("a/b?c&d=e f%..~_-") == "a%2Fb%3Fc%26d%3De%20f%25..~_-")
        #expect(QueryString.encode([("media_id", "../x"), ("k", "ü")]) == "media_id=..%2Fx&k=%C3%BC")
    }

    @Test func credentialsAreHiddenInURLsAndJSON() {
        let url = "/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CR3T"
        #expect(Redaction.redact(url) == "/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=***")
        #expect(Redaction.redact("GET /x?access_token=TOK123&media_id=m") == "GET /x?access_token=***&media_id=m")
        #expect(Redaction.redact(#"{"appid":"wx1","secret":"S3CR3T"}"#) == #"{"appid":"wx1","secret":"***"}"#)
        #expect(Redaction.redact("my_secret=x") == "my_secret=x")
    }

    @Test func secretsPrintAsStars() {
        let secret = Secret("S3CR3T")
        #expect("\(secret)" == "***")
        #expect(String(reflecting: secret) == "***")
        #expect(!"\(AccessToken(value: "TOKENVALUE", refreshAfter: nil))".contains("TOKENVALUE"))
    }
}
