import ArgumentParser
import FleetCatalog
import Foundation
import Logging
import MediaCatalog
import WeChatMedia
import WeChatMediaFS

struct MountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount a WeChat Official Account's temporary media as a folder.",
        discussion: """
            cp a file into image/, voice/, video/ or thumb/ to upload it (close() fails if the upload \
            fails); NAME.media_id then holds its media id. by-id/MEDIA_ID reads any media by id. The app \
            secret comes from --secret-file or WXMEDIAFS_SECRET, never from the command line.

            Without --foreground the command returns once the mount answers (or fails with the \
            reason), and the daemon logs to CACHE_DIR/wxmediafs.log, rotated at 10 MiB (three old \
            files kept). With --foreground it logs to stderr, or to the journal when systemd started \
            it, and tells systemd when it is ready (Type=notify). `wxmediafs status MOUNTPOINT` asks \
            it what it is doing, over CACHE_DIR/status.sock. SIGINT or SIGTERM lets uploads in \
            flight finish (at most 30 s), then unmounts. --emulator mounts a demo on an emulator \
            started in-process.

            Examples:
              wxmediafs mount ~/wx --appid wx123 --secret-file ~/.config/wxmediafs/secret
              wxmediafs mount ~/wx --emulator
              mount -t wxmediafs wxmediafs /mnt/wx -o appid=wx123,secret_file=/etc/wxmediafs/secret
            """)

    @Argument(help: "Where to mount.")
    var mountpoint: String

    @Option(help: "The Official Account's app id.")
    var appid: String?

    @Option(help: "A file holding the app secret (or set WXMEDIAFS_SECRET).")
    var secretFile: String?

    @Option(help: "A file holding an access token managed elsewhere; read again when the server refuses it.")
    var accessTokenFile: String?

    @Option(help: "The API's base URL.")
    var apiBase = "https://api.weixin.qq.com"

    @Flag(help: "Serve a local emulator in-process and mount it (a demo that needs no account).")
    var emulator = false

    @Option(help: "Where the catalog, cached media and log live (default: $XDG_CACHE_HOME/wxmediafs/APPID).")
    var cacheDir: String?

    @Option(help: "Hide media this long after the server's created_at: 90s, 10m, 2h, 3d (1s to 3650d).")
    var mediaTTL = DurationArgument(seconds: 3 * 86400)

    @Option(help: "Cap of the cached media bytes (least recently used go first): 500M, 1G (0 to 1P).")
    var cacheMaxSize = SizeArgument(bytes: 1 << 30)

    @Option(
        help:
            "Free space to keep on the cache dir's disk, evicting cached media below it: a size (100M) or a share of the disk (at most 256 MiB)."
    )
    var cacheMinFree = FreeSpaceFloorArgument(percent: 5)

    @Option(
        help: "How long an upload or download may take, retries included, before it fails with EIO: 30s, 2m (1s to 1d)."
    )
    var requestTimeout = DurationArgument(seconds: 30)

    @Option(
        help:
            "When a file goes to the server: sync (close() returns once it is uploaded, or fails with why) or background (close() returns once it passed the local rules and is queued on disk; `wxmediafs sync` waits for the queue and tells each failure)."
    )
    var uploads: UploadMode = .sync

    @Option(help: "Uploads the background queue runs at once (1 to 64).")
    var uploadConcurrency = 8

    @Option(
        help:
            "Show NAME.media_id sidecars (visible), or not (off: the id is only the user.wechat.media_id xattr, and cp -r or mv of a tree holding sidecars, such as a backup of the mount, succeeds)."
    )
    var sidecars: SidecarMode = .visible

    @Option(
        help:
            "The upload limits to check against: current (image 10 MB PNG/JPEG/GIF, the most the docs allow) or seed (image 1 MB JPG)."
    )
    var limits: LimitsProfile = .current

    @Option(help: "How access tokens are fetched: stable (/cgi-bin/stable_token) or legacy (/cgi-bin/token).")
    var tokenEndpoint: TokenEndpointArgument = .stable

    @Flag(
        help: "Allow a plain-http API base that is not on loopback (credentials would cross the network unencrypted).")
    var insecureHTTP = false

    @Option(
        help:
            "Share the catalog and the access token with every host mounting this account: postgresql://USER@HOST:PORT/DATABASE (no password in it)."
    )
    var catalogURL: String?

    @Option(help: "A file holding the catalog's PostgreSQL password (or set PGPASSWORD).")
    var catalogPasswordFile: String?

    @Option(help: "TLS to the catalog: disable, prefer (when offered), require, or verify-full.")
    var catalogTLS: CatalogTLSArgument = .prefer
    @Option(help: "Serve Prometheus metrics at http://ADDRESS/metrics, e.g. 127.0.0.1:9464 (off unless given).")
    var metricsAddress: MetricsAddress?

    @Flag(help: "Allow a --metrics-address that is not loopback (the metrics would be open to the network).")
    var allowRemoteMetrics = false

    @Option(
        help:
            "How long the server's listing of a /material/ folder is kept before the next listing asks again (batchget_material spends the daily quota): 30s, 5m (0s to 1d)."
    )
    var materialListTTL = DurationArgument(seconds: 60)

    @Flag(
        help:
            "Let rm of a /material/ file delete the material from the account (del_material); without it, rm there fails with EPERM."
    )
    var allowDelete = false

    @Flag(
        help:
            "Let mv of a /drafts/ folder to /published/ publish the draft (freepublish/submit); without it, that mv fails with EPERM."
    )
    var allowPublish = false

    @Option(
        help:
            "How long an article folder under /drafts/ must be left alone before it is built into a draft, so that cp -r builds it once: 2s, 10s (0s to 1h)."
    )
    var draftSettle = DurationArgument(seconds: 2)

    @Option(
        help:
            "How many freepublish/get polls a day may be spent following publishing jobs (the platform allows 100 a day for the whole account): 1 to 100000."
    )
    var publishPollsPerDay = 90

    /// How often the daily quota may be asked of the server (tests use a short one).
    @Option(help: .hidden)
    var quotaInterval = DurationArgument(seconds: 60)

    /// How long an unmount waits for the upload queue before leaving the rest for the next mount
    /// (tests use a short one).
    @Option(help: .hidden)
    var queueDrainTimeout = DurationArgument(seconds: 30)

    @Flag(help: "Stay in the foreground and log to stderr.")
    var foreground = false

    @Option(name: .customShort("o"), help: "FUSE mount options, comma-separated (allow_other, ro, ...).")
    var options: [String] = []

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    /// Set by the daemonizing parent: log to this file, rotated, instead of stderr.
    @Option(help: .hidden)
    var logFile: String?

    /// Size at which the log file is rotated (tests use a small one).
    @Option(help: .hidden)
    var logFileMaxSize = SizeArgument(bytes: 10 << 20)

    /// The values each option accepts. Every one enters sums with times and sizes (created_at +
    /// TTL, now + timeout); the bounds keep those far from overflow and refuse what is surely a
    /// typo (a TTL of a billion days) with a usage error, exit code 64.
    static let mediaTTLRange: ClosedRange<Int64> = 1...(3650 * 86400)
    static let requestTimeoutRange: ClosedRange<Int64> = 1...86400
    static let cacheMaxSizeRange: ClosedRange<Int64> = 0...(1 << 50)
    static let logFileMaxSizeRange: ClosedRange<Int64> = (1 << 10)...(1 << 30)
    /// Real app ids are `wx` and 16 hex digits; the bound leaves room for other issuers' ids.
    static let maxAppIDLength = 64

    func validate() throws {
        try mediaTTL.check(within: Self.mediaTTLRange, option: "--media-ttl")
        try requestTimeout.check(within: Self.requestTimeoutRange, option: "--request-timeout")
        try cacheMaxSize.check(within: Self.cacheMaxSizeRange, option: "--cache-max-size")
        try cacheMinFree.check(option: "--cache-min-free")
        try logFileMaxSize.check(within: Self.logFileMaxSizeRange, option: "--log-file-max-size")
        try quotaInterval.check(within: 1...86400, option: "--quota-interval")
        try queueDrainTimeout.check(within: 1...3600, option: "--queue-drain-timeout")
        try materialListTTL.check(within: 0...86400, option: "--material-list-ttl")
        try draftSettle.check(within: 0...3600, option: "--draft-settle")
        guard (1...100_000).contains(publishPollsPerDay) else {
            throw ValidationError("--publish-polls-per-day \(publishPollsPerDay) is out of range: 1 to 100000")
        }
        guard (1...64).contains(uploadConcurrency) else {
            throw ValidationError("--upload-concurrency \(uploadConcurrency) is out of range: 1 to 64")
        }
        if let metricsAddress, !metricsAddress.isLoopback, !allowRemoteMetrics {
            throw ValidationError(
                "refusing to serve metrics on \(metricsAddress.host), which is not loopback: use 127.0.0.1 or ::1, or add --allow-remote-metrics"
            )
        }
        // The app id names the default cache folder and goes into every token request.
        if let appid, !OpaqueID.isWellFormed(appid, maxLength: Self.maxAppIDLength) {
            throw ValidationError(
                "--appid \(JSONScalar.shortened(appid)) is not an app id: 1-\(Self.maxAppIDLength) characters [A-Za-z0-9_-]"
            )
        }
        if let catalogURL {
            do {
                _ = try PostgresCatalogConfiguration(url: catalogURL, password: nil, account: "", hostKey: "")
            } catch let problem as PostgresCatalogConfiguration.Problem {
                throw ValidationError(problem.description)
            }
        } else if catalogPasswordFile != nil {
            throw ValidationError("--catalog-password-file needs --catalog-url")
        }
        if !emulator, accessTokenFile == nil, appid == nil {
            throw ValidationError(
                "give --appid with --secret-file (or WXMEDIAFS_SECRET), --access-token-file, or --emulator")
        }
        if !emulator, !insecureHTTP, apiBase.lowercased().hasPrefix("http://"), !Self.isLoopback(apiBase) {
            throw ValidationError(
                "refusing plain http to \(apiBase): use https, a loopback address, or --insecure-http")
        }
    }

    func run() async throws {
        let path = MountPoint.absolute(mountpoint)
        if foreground {
            try await MountRunner(command: self, mountpoint: path).run()
        } else {
            try await Daemon.start(mountpoint: path, arguments: CommandLine.arguments, command: self)
        }
    }

    static func isLoopback(_ url: String) -> Bool {
        guard let host = URLComponents(string: url)?.host?.lowercased() else { return false }
        return host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }
}

enum CatalogTLSArgument: String, ExpressibleByArgument, Sendable, CaseIterable {
    case disable, prefer, require
    case verifyFull = "verify-full"

    var mode: PostgresCatalogConfiguration.TLSMode {
        switch self {
        case .disable: .disable
        case .prefer: .prefer
        case .require: .require
        case .verifyFull: .verifyFull
        }
    }
}

enum TokenEndpointArgument: String, ExpressibleByArgument, Sendable {
    case stable
    case legacy
}

extension UploadMode: ExpressibleByArgument {}
extension SidecarMode: ExpressibleByArgument {}
