import EmulatorTestSupport
import Foundation
import Testing
import WeChatMedia

@Suite("Emulator: GET and HEAD /cgi-bin/media/get")
struct DownloadEndpointTests {
    typealias Fixture = EmulatorFixture

    @Test func getAndHeadAnswerWithTheSeedsHeaders() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            for (name, type, contentType, ext) in [
                ("cat.jpg", "image", "image/jpeg", "jpg"), ("thumb.jpg", "thumb", "image/jpeg", "jpg"),
                ("hello.mp3", "voice", "audio/mpeg", "mp3"), ("hello.amr", "voice", "audio/amr", "amr"),
            ] {
                let bytes = Samples.bytes(name)
                let uploaded = try await f.upload(bytes, filename: name, type: type, token: token)
                let id = try #require((uploaded.json["media_id"] ?? uploaded.json["thumb_media_id"]) as? String)
                let url = "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)"
                let get = try await f.request(.GET, url)
                #expect(get.status == 200)
                #expect(get.body == bytes, "\(name) comes back byte-identical")
                #expect(get.header("Content-Type") == contentType)
                #expect(get.header("Content-disposition") == "attachment; filename=\"\(id).\(ext)\"")
                #expect(get.header("Cache-Control") == "no-cache, must-revalidate")
                #expect(get.header("Content-Length") == String(bytes.count))
                #expect(get.header("Date")?.hasSuffix(" GMT") == true)
                let head = try await f.request(.HEAD, url)
                #expect(head.status == 200)
                #expect(head.body.isEmpty)
                #expect(head.header("Content-Length") == String(bytes.count))
                #expect(head.header("Content-disposition") == get.header("Content-disposition"))
            }
        }
    }

    @Test func missingUnknownAndExpiredIdsGetTheirErrcodes() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            #expect(try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)").errcode == 41006)
            #expect(
                try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=nope").errcode == 40007)
            #expect(try await f.request(.GET, "/cgi-bin/media/get?media_id=x").errcode == 41001)
            let uploaded = try await f.upload(
                Samples.bytes("cat.jpg"), filename: "cat.jpg", type: "image", token: token)
            let id = try #require(uploaded.json["media_id"] as? String)
            let created = try #require(uploaded.json["created_at"] as? Int)
            let now = try await f.request(.GET, "/_emulator/clock").json["now"] as? Int ?? 0
            #expect(abs(created - now) <= 2)
            try await f.advanceClock(seconds: 3 * 24 * 3600 - 60)
            let fresh = try await f.legacyToken()
            #expect(try await f.request(.GET, "/cgi-bin/media/get?access_token=\(fresh)&media_id=\(id)").status == 200)
            try await f.advanceClock(seconds: 61)
            let late = try await f.legacyToken()
            #expect(
                try await f.request(.GET, "/cgi-bin/media/get?access_token=\(late)&media_id=\(id)").errcode == 40007)
            #expect(
                try await f.request(.HEAD, "/cgi-bin/media/get?access_token=\(late)&media_id=\(id)").header(
                    "Content-disposition") == nil)
        }
    }

    @Test func videoIsRefusedUnderTheSeedAndServedByURLUnderCurrent() async throws {
        let clip = Samples.bytes("clip.mp4")
        try await Fixture.with(limits: .seed) { f in
            let token = try await f.legacyToken()
            let id = try #require(
                try await f.upload(clip, filename: "clip.mp4", type: "video", token: token).json["media_id"] as? String)
            #expect(
                try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)").errcode == 40004)
        }
        try await Fixture.with(limits: .current) { f in
            let token = try await f.legacyToken()
            let id = try #require(
                try await f.upload(clip, filename: "clip.mp4", type: "video", token: token).json["media_id"] as? String)
            let reply = try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)")
            let url = try #require(reply.json["video_url"] as? String)
            let path = try #require(url.range(of: "/cdn/").map { String(url[$0.lowerBound...]) })
            let video = try await f.request(.GET, path)
            #expect(video.body == clip)
            #expect(video.header("Content-Type") == "video/mp4")
        }
    }
}

@Suite("Emulator: persistence, test controls, the seed's curl examples, the command line")
struct EmulatorLifecycleTests {
    typealias Fixture = EmulatorFixture

    @Test func mediaAndTokensSurviveARestart() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = Samples.bytes("hello.amr")
        let (token, id) = try await Fixture.with(dataDirectory: directory) { f in
            let token = try await f.legacyToken()
            let reply = try await f.upload(bytes, filename: "hello.amr", type: "voice", token: token)
            return (token, try #require(reply.json["media_id"] as? String))
        }
        try await Fixture.with(dataDirectory: directory) { f in
            let get = try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=\(id)")
            #expect(get.body == bytes, "the same token and id work after the restart")
        }
    }

    @Test func faultsStrikeExactlyTheirShareAndCountersCountRequests() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            try await f.setFaults(#"{"rules":[{"endpoint":"upload","kind":"errcode","fraction":0.25}]}"#)
            var codes: [Int?] = []
            for _ in 0..<8 {
                codes.append(
                    try await f.upload(Samples.bytes("cat.jpg"), filename: "c.jpg", type: "image", token: token).errcode
                )
            }
            #expect(codes == [nil, nil, nil, -1, nil, nil, nil, -1])
            #expect(try await f.injectedFaults() == [2])

            try await f.setFaults(#"{"rules":[{"endpoint":"get","kind":"http503","fraction":1}]}"#)
            let unavailable = try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=x")
            #expect(unavailable.status == 503)

            try await f.setFaults(#"{"rules":[{"endpoint":"get","kind":"drop","fraction":1}]}"#)
            await #expect(throws: (any Error).self) {
                _ = try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=x")
            }

            try await f.setFaults(#"{"rules":[{"endpoint":"get","kind":"delay","fraction":1,"delay_ms":300}]}"#)
            let start = ContinuousClock.now
            #expect(try await f.request(.GET, "/cgi-bin/media/get?access_token=\(token)&media_id=x").errcode == 40007)
            #expect(start.duration(to: .now) >= .milliseconds(300))

            let counters = try await f.counters()
            #expect(counters["token"] == 1)
            #expect(counters["upload"] == 8)
            #expect(counters["get"] == 3)
            _ = try await f.request(.POST, "/_emulator/reset")
            #expect(try await f.counters().isEmpty)
            #expect(
                try await f.upload(Samples.bytes("cat.jpg"), filename: "c.jpg", type: "image", token: token).errcode
                    == 40001,
                "reset forgets tokens")
        }
    }

    @Test func theSeedsCurlExamplesWorkAsShown() async throws {
        try await Fixture.with { f in
            let token = try await f.legacyToken()
            let upload = try await Command.curl([
                "-F", "media=@\(Samples.path("cat.jpg"))",
                "\(f.baseURL)/cgi-bin/media/upload?access_token=\(token)&type=image",
            ])
            #expect(upload.status == 0, "\(upload.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(upload.stdout.utf8)) as? [String: Any]
            let id = try #require(json?["media_id"] as? String)
            #expect(json?["type"] as? String == "image")
            let head = try await Command.curl([
                "-I", "-G", "\(f.baseURL)/cgi-bin/media/get?access_token=\(token)&media_id=\(id)",
            ])
            #expect(head.stdout.hasPrefix("HTTP/1.1 200 OK"))
            #expect(head.stdout.contains("Content-Type: image/jpeg"))
            #expect(head.stdout.contains("Content-disposition: attachment; filename=\"\(id).jpg\""))
            #expect(head.stdout.contains("Content-Length: \(Samples.bytes("cat.jpg").count)"))
            let output = try TemporaryDirectory.make() + "/out.jpg"
            let get = try await Command.curl([
                "-G", "-o", output, "\(f.baseURL)/cgi-bin/media/get?access_token=\(token)&media_id=\(id)",
            ])
            #expect(get.status == 0)
            #expect(FileManager.default.contents(atPath: output).map(Array.init) == Samples.bytes("cat.jpg"))
        }
    }

    @Test func theCommandLinePrintsItsURLAndLogsWithoutSecrets() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secretFile = directory + "/secret"
        try "cli-secret-abcdef\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Command.wxmediafsPath)
        process.arguments = [
            "emulator", "--port", "0", "--data-dir", directory + "/data", "--appid", "wxcli", "--secret-file",
            secretFile,
        ]
        let out = Pipe()
        let errPath = directory + "/stderr"
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.run()
        defer {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
        // The first line names the base URL; reading it is the readiness signal.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        let base = try #require(text.split(separator: " ").first { $0.hasPrefix("http://127.0.0.1:") }.map(String.init))
        let token = try await Command.curl([
            "\(base)/cgi-bin/token?grant_type=client_credential&appid=wxcli&secret=cli-secret-abcdef"
        ])
        #expect(token.stdout.contains("access_token"))
        let controls = try await Command.curl(["-o", "/dev/null", "-w", "%{http_code}", "\(base)/_emulator/counters"])
        #expect(controls.stdout == "404", "test controls are off unless asked for")
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "SIGTERM stops it cleanly")
        let log = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        #expect(log.contains("GET /cgi-bin/token?grant_type=client_credential&appid=wxcli&secret=*** -> 200"))
        #expect(!log.contains("cli-secret-abcdef"))
        let issued = try JSONSerialization.jsonObject(with: Data(token.stdout.utf8)) as? [String: Any]
        #expect(!log.contains(issued?["access_token"] as? String ?? "-"))
    }
}
