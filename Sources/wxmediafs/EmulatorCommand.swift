import ArgumentParser
import Foundation
import Logging
import WeChatEmulator
import WeChatMedia

struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Serve a local emulator of the WeChat temporary-media API.",
        discussion: """
            Serves /cgi-bin/token, /cgi-bin/stable_token, /cgi-bin/media/upload, /cgi-bin/media/get \
            (GET and HEAD), the permanent material (/cgi-bin/material/...), /cgi-bin/media/uploadimg, \
            the draft box (/cgi-bin/draft/add, get, update, delete, count, batchget), publishing \
            (/cgi-bin/freepublish/submit, get, batchget, getarticle, delete) and \
            /cgi-bin/openapi/quota/get as the platform does. Prints one line with its base URL on stdout once it \
            listens, then logs one line per request on stderr. Media, material, drafts and published \
            articles are kept in --data-dir and survive a restart. SIGINT or SIGTERM stops it.
            """
    )

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port = 8088

    @Option(help: "Where media and tokens are kept (default: a new temporary folder).")
    var dataDir: String?

    @Option(help: "The app id clients must present.")
    var appid = "wxemulator"

    @Option(help: "The app secret clients must present. It is a test secret: for a real one use --secret-file.")
    var secret: String?

    @Option(help: "Read the app secret from this file (or set WXMEDIAFS_SECRET).")
    var secretFile: String?

    @Option(help: "Which limits to apply: seed (2014: image 1 MB JPG) or current (image 10 MB PNG/JPEG/GIF).")
    var limits: LimitsProfile = .seed

    @Option(
        help: ArgumentHelp(
            "Calls a day before a metered API answers 45009: N for uploads and downloads, or KEY=N,... by API.",
            discussion: """
                KEY is upload, download, or a metered path after /cgi-bin/: media/upload, media/get, \
                material/add_material, draft/add, draft/get, draft/update, draft/delete, draft/count, \
                draft/batchget, freepublish/submit, freepublish/get, freepublish/delete, \
                freepublish/batchget, freepublish/getarticle. Default: uploads and downloads the documented \
                quota of --limits (seed: 5000 and 10000; current: 100000 and 200000); draft/get 500, the other \
                draft APIs 1000 each, freepublish/submit, get, batchget and getarticle 100 each, \
                freepublish/delete 10 (the current docs); material/add_material 1000 (the emulator's \
                assumption: the docs give no figure).
                """,
            valueName: "quota"))
    var dailyQuota: String?

    @Option(
        help: ArgumentHelp(
            "How many permanent materials each type may hold before add_material answers 45034.",
            discussion:
                "image=N,voice=N,video=N, any of them; thumbs count with images. Default: the current docs' image=100000,voice=1000,video=1000.",
            valueName: "caps"))
    var materialCaps: String?

    @Option(
        help: ArgumentHelp(
            "How long a freepublish/submit job stays publishing (status 1) before it ends, in emulator seconds.",
            valueName: "seconds"))
    var publishSeconds: Int64 = 10

    @Flag(
        help: "Serve /_emulator/ controls for tests (clock, faults, counters, whitelist, secret, publish, reset).")
    var testControls = false

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if let dailyQuota, DailyQuota(parsing: dailyQuota, base: .documented(for: limits)) == nil {
            throw ValidationError(
                "--daily-quota \(dailyQuota) is not N or KEY=N,... (upload, download or a metered path such as "
                    + "draft/add; whole numbers, 0 to 10^12)")
        }
        if publishSeconds < 0 {
            throw ValidationError("--publish-seconds \(publishSeconds) is negative")
        }
        if let materialCaps, MaterialCaps(parsing: materialCaps) == nil {
            throw ValidationError("--material-caps \(materialCaps) is not image=N,voice=N,video=N (whole numbers)")
        }
    }

    func run() async throws {
        LogSetup.bootstrap(level: logLevel)
        let logger = Logger(label: "wxmediafs.emulator")
        let secret = try secret.map(Secret.init) ?? SecretSource.load(file: secretFile) ?? Secret("emulator-secret")
        let dataDirectory = try dataDir ?? TemporaryFolder.make("emulator")
        var configuration = EmulatorConfiguration(
            host: host, port: port, dataDirectory: dataDirectory, appID: appid, secret: secret, limits: limits,
            testControls: testControls,
            dailyQuota: dailyQuota.flatMap { DailyQuota(parsing: $0, base: .documented(for: limits)) })
        configuration.materialCaps = materialCaps.flatMap(MaterialCaps.init(parsing:)) ?? .documented
        configuration.publishSeconds = publishSeconds
        let emulator = try WeChatEmulator(configuration: configuration, logger: logger)
        let appID = configuration.appID
        try await emulator.run { url in
            // Unbuffered, so a script reading the line sees it while the server runs.
            let line = "wxmediafs emulator listening on \(url) (appid \(appID), data \(dataDirectory))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
    }
}

extension LimitsProfile: ExpressibleByArgument {}
