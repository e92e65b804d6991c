import Deadlines
import EmulatorTestSupport
import FUSEKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Several hosts on one PostgreSQL catalog (issue 13): real mounts of one account on this
/// machine, one emulator, one database of the throwaway cluster.
@Suite("Fleet on PostgreSQL", .serialized)
struct FleetTests {
    /// Runs `script` with `$A`, `$B` (and `$C`) set to the hosts' mountpoints and `$S` to the samples.
    static func shell(_ fleet: FleetFixture, _ script: String) async throws -> CommandResult {
        let names = ["A", "B", "C"]
        let hosts = zip(names, fleet.hosts).map { "\($0)='\($1.mountpoint)'; " }.joined()
        return try await Command.run("/bin/bash", ["-c", hosts + "S='\(Samples.folder)'; " + script])
    }

    static func succeeds(_ fleet: FleetFixture, _ script: String) async throws -> Bool {
        try await shell(fleet, script).status == 0
    }

    /// How long after `change` ran on one host `check` held on another (nil: not within 2 s).
    /// `prime` runs first on the observing host, so its kernel has the old state cached.
    static func delay(
        _ fleet: FleetFixture, prime: String, change: String, check: String
    ) async throws -> Duration? {
        _ = try await shell(fleet, prime)
        let changed = try await shell(fleet, change)
        guard changed.status == 0 else { throw FixtureError("\(change): \(changed.stderr)") }
        let start = ContinuousClock.now
        guard try await eventually(within: .seconds(2), every: .milliseconds(10), { try await succeeds(fleet, check) })
        else { return nil }
        return start.duration(to: .now)
    }

    @Test func everyKindOfChangeOnOneHostShowsOnTheOtherWithinTwoSeconds() async throws {
        try await FleetFixture.with { fleet in
            let changes: [(what: String, prime: String, change: String, check: String)] = [
                (
                    "upload", #"stat "$B/image/v.jpg""#, #"cp "$S/cat.jpg" "$A/image/v.jpg""#,
                    #"cmp -s "$S/cat.jpg" "$B/image/v.jpg" && [ -s "$B/image/v.jpg.media_id" ]"#
                ),
                (
                    "overwrite", #"cat "$B/image/v.jpg" > /dev/null"#, #"cp "$S/thumb.jpg" "$A/image/v.jpg""#,
                    #"cmp -s "$S/thumb.jpg" "$B/image/v.jpg" && cmp -s "$A/image/v.jpg.media_id" "$B/image/v.jpg.media_id""#
                ),
                (
                    "rename", #"stat "$B/image/v.jpg" "$B/image/w.jpg"; ls "$B/image""#,
                    #"mv "$A/image/v.jpg" "$A/image/w.jpg""#,
                    #"[ -e "$B/image/w.jpg" ] && [ ! -e "$B/image/v.jpg" ] && ls "$B/image" | grep -qx w.jpg"#
                ),
                (
                    "chmod", #"stat "$B/image/w.jpg""#, #"chmod 600 "$A/image/w.jpg""#,
                    #"[ "$(stat -c %a "$B/image/w.jpg")" = 600 ]"#
                ),
                (
                    "utime", #"stat "$B/image/w.jpg""#, #"touch -m -d @1700000000 "$A/image/w.jpg""#,
                    #"[ "$(stat -c %Y "$B/image/w.jpg")" = 1700000000 ]"#
                ),
                (
                    "xattr", #"getfattr -d "$B/image/w.jpg""#, #"setfattr -n user.colour -v blue "$A/image/w.jpg""#,
                    #"[ "$(getfattr --only-values -n user.colour "$B/image/w.jpg")" = blue ]"#
                ),
                ("mkdir", #"stat "$B/image/album""#, #"mkdir "$A/image/album""#, #"[ -d "$B/image/album" ]"#),
                ("rmdir", #"stat "$B/image/album""#, #"rmdir "$A/image/album""#, #"[ ! -e "$B/image/album" ]"#),
                (
                    "rm", #"stat "$B/image/w.jpg" "$B/image/w.jpg.media_id""#, #"rm "$A/image/w.jpg""#,
                    #"[ ! -e "$B/image/w.jpg" ] && [ ! -e "$B/image/w.jpg.media_id" ]"#
                ),
            ]
            for change in changes {
                let delay = try await Self.delay(fleet, prime: change.prime, change: change.change, check: change.check)
                #expect(delay != nil, "\(change.what) on host A showed on host B within 2 s")
                if let delay { print("fleet: \(change.what) on A showed on B after \(delay.wholeMilliseconds) ms") }
            }
        }
    }

    /// Article folders are the fleet's (issue 24): one copied through one host is built once,
    /// and the other host shows its state and draft and reads every file whole.
    @Test func anArticleFolderCopiedThroughOneHostIsBuiltOnceAndReadWholeThroughTheOther() async throws {
        try await FleetFixture.with(arguments: ["--draft-settle", "2s"], limits: .current) { fleet in
            let example = ArticleFolderMountTests.example
            #expect(try await Self.succeeds(fleet, #"cp -r "\#(example)" "$A/drafts/cat-week""#))
            let built = try await eventually(within: .seconds(60), every: .milliseconds(200)) {
                try await ArticleFolderMountTests.attribute(fleet.hosts[1], "drafts/cat-week", "user.wechat.state")
                    == "built"
            }
            #expect(built, "\(fleet.hosts[0].log)")
            var draftIDs: [String] = []
            for host in fleet.hosts {
                draftIDs.append(
                    try await ArticleFolderMountTests.attribute(host, "drafts/cat-week", "user.wechat.media_id"))
            }
            #expect(!draftIDs[0].isEmpty && draftIDs[0] == draftIDs[1], "\(draftIDs)")
            let compared = try await Self.shell(fleet, #"diff -r "\#(example)" "$B/drafts/cat-week" && echo same"#)
            #expect(compared.stdout.hasSuffix("same\n"), "\(compared.stdout)\(compared.stderr)")
            let counters = try await fleet.emulator.counters()
            #expect(
                counters["draft_add"] == 1 && counters["draft_update"] ?? 0 == 0 && counters["uploadimg"] == 2
                    && counters["add_material"] == 3, "\(counters)")
        }
    }

    @Test func aFileBeingWrittenIsInvisibleElsewhereAndItsNameIsTakenForTheFleet() async throws {
        try await FleetFixture.with { fleet in
            let signal = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: signal) }
            #expect(try await Self.succeeds(fleet, #"mkdir "$A/image/sub""#))
            // Host A holds two files open for writing until told to close them.
            let writer = Task {
                try await Self.shell(
                    fleet,
                    """
                    exec 3>"$A/image/w.jpg" 4>"$A/image/sub/x.jpg"; cat "$S/cat.jpg" >&3; cat "$S/thumb.jpg" >&4
                    for i in $(seq 600); do [ -e '\(signal)/go' ] && break; sleep 0.05; done
                    exec 3>&- 4>&-
                    """)
            }
            #expect(await eventually { FileManager.default.fileExists(atPath: fleet.hosts[0].path("image/w.jpg")) })
            #expect(try await Self.succeeds(fleet, #"[ ! -e "$B/image/w.jpg" ] && ! ls "$B/image" | grep -q w.jpg"#))
            let exclusive = try await Self.shell(
                fleet,
                #"python3 -c 'import os,sys; os.open(sys.argv[1], os.O_CREAT|os.O_EXCL|os.O_WRONLY)' "$B/image/w.jpg""#)
            #expect(exclusive.status != 0 && exclusive.stderr.contains("File exists"), "O_EXCL: \(exclusive.stderr)")
            let rmdir = try await Self.shell(fleet, #"rmdir "$B/image/sub""#)
            #expect(rmdir.status != 0 && rmdir.stderr.contains("not empty"), "rmdir: \(rmdir.stderr)")

            _ = FileManager.default.createFile(atPath: signal + "/go", contents: nil)
            #expect(try await writer.value.status == 0)
            let agreed = try await eventually(within: .seconds(2)) {
                try await Self.succeeds(
                    fleet,
                    #"cmp -s "$S/cat.jpg" "$B/image/w.jpg" && cmp -s "$A/image/w.jpg.media_id" "$B/image/w.jpg.media_id""#
                )
            }
            #expect(agreed, "after its close the file is on host B, with the same id")
        }
    }

    @Test func twoHostsOverwritingOneNameEndWithOneIDAndItsBytes() async throws {
        try await FleetFixture.with { fleet in
            #expect(try await Self.succeeds(fleet, #"cp "$S/thumb.jpg" "$A/image/race.jpg""#))
            for round in 0..<4 {
                async let onA = Self.shell(fleet, #"cp "$S/thumb.jpg" "$A/image/race.jpg""#)
                async let onB = Self.shell(fleet, #"cp "$S/cat.jpg" "$B/image/race.jpg""#)
                let (a, b) = try await (onA, onB)
                #expect(a.status == 0 && b.status == 0, "round \(round): \(a.stderr) \(b.stderr)")
                let id = try await eventuallyValue(within: .seconds(2)) { () -> String? in
                    let ids = try await Self.shell(
                        fleet, #"cat "$A/image/race.jpg.media_id" "$B/image/race.jpg.media_id""#
                    ).stdout.split(separator: "\n")
                    return ids.count == 2 && ids[0] == ids[1] ? String(ids[0]) : nil
                }
                #expect(id != nil, "round \(round): both hosts show one id")
                guard let id else { continue }
                let path = try TemporaryDirectory.make() + "/server"
                _ = try await fleet.emulator.makeClient().download(mediaID: id, to: path)
                let server = FileManager.default.contents(atPath: path)
                #expect(server != nil)
                #expect(
                    fleet.hosts[0].contents("image/race.jpg").map { Data($0) } == server, "round \(round): A's bytes")
                #expect(
                    fleet.hosts[1].contents("image/race.jpg").map { Data($0) } == server, "round \(round): B's bytes")
            }
        }
    }

    @Test func aHostKilledMidUploadLeavesNothingHalfMadeAndIsReaped() async throws {
        try await FleetFixture.with(hosts: 3) { fleet in
            try await fleet.emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":4000}]}"#)
            let (first, third) = (fleet.hosts[0], fleet.hosts[2])
            let copies = [
                Task { try await first.shell(#"cp "$S/cat.jpg" "$M/image/k0.jpg""#) },
                Task { try await third.shell(#"cp "$S/cat.jpg" "$M/image/k2.jpg""#) },
            ]
            #expect(try await eventually { try await fleet.emulator.counters()["upload", default: 0] >= 2 })
            for index in [0, 2] { kill(fleet.hosts[index].processIdentifier, SIGKILL) }
            for copy in copies { #expect(try await copy.value.status != 0, "cp does not report success") }
            for index in [0, 2] { _ = try await fleet.hosts[index].waitForExit() }
            try await fleet.emulator.setFaults(#"{"rules":[]}"#)
            #expect(try await Self.succeeds(fleet, #"[ ! -e "$B/image/k0.jpg" ] && [ ! -e "$B/image/k2.jpg" ]"#))

            // Host A comes back on its cache dir: what its dead run was writing goes at once.
            // (A failure before its stop leaves it to the fixture's clean-up, which detaches it.)
            let again = try await fleet.restartHost(0)
            let spool = try await again.shell(#"ls -A "$M/../cache/spool" | wc -l"#)
            #expect(spool.stdout == "0\n", "no spool file left")
            let takeK0 =
                #"python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_CREAT|os.O_EXCL|os.O_WRONLY))' "$B/image/k0.jpg""#
            #expect(try await Self.succeeds(fleet, takeK0), "k0.jpg is free at once after A's remount")

            // Host C stays dead: the fleet reaps it within 60 s.
            let start = ContinuousClock.now
            let takeK2 = takeK0.replacingOccurrences(of: "k0.jpg", with: "k2.jpg")
            let reaped = try await eventually(within: .seconds(60), every: .milliseconds(500)) {
                try await Self.succeeds(fleet, takeK2)
            }
            #expect(reaped, "k2.jpg is free within 60 s of host C's death")
            print(
                "fleet: a dead host's half-written file was reaped after \(start.duration(to: .now).wholeMilliseconds) ms"
            )
            try await again.stop()
        }
    }

    /// Background uploads in a fleet: a queued file is not there for the other hosts until it
    /// is uploaded; a host killed with files queued takes them up again on its cache dir (its
    /// new session adopts the rows), and then every host sees them.
    @Test func queuedFilesAreOtherHostsOnlyOnceUploadedAndSurviveTheirHostsDeath() async throws {
        try await FleetFixture.with(arguments: ["--uploads", "background"]) { fleet in
            try await fleet.emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":3000}]}"#)
            let copy = try await Self.shell(
                fleet, #"cp "$S/cat.jpg" "$A/image/q1.jpg" && cp "$S/thumb.jpg" "$A/image/q2.jpg" && ls "$A/image""#)
            #expect(copy.stdout == "q1.jpg\nq2.jpg\n", "\(copy.stdout) \(copy.stderr)")
            #expect(try await Self.succeeds(fleet, #"[ -z "$(ls "$B/image")" ] && [ ! -e "$B/image/q1.jpg" ]"#))

            kill(fleet.hosts[0].processIdentifier, SIGKILL)
            _ = try await fleet.hosts[0].waitForExit()
            try await fleet.emulator.setFaults(#"{"rules":[]}"#)
            let again = try await fleet.restartHost(0)
            let sync = try await Command.run(Command.wxmediafsPath, ["sync", again.mountpoint])
            #expect(sync.status == 0, "\(sync.stderr)")
            let seen = try await eventually(within: .seconds(5)) {
                try await Self.succeeds(
                    fleet,
                    #"cmp -s "$S/cat.jpg" "$B/image/q1.jpg" && cmp -s "$S/thumb.jpg" "$B/image/q2.jpg" && cmp -s "$A/image/q1.jpg.media_id" "$B/image/q1.jpg.media_id""#
                )
            }
            #expect(seen, "host B sees both files, with A's ids, once A's queue is done")
            try await again.stop()
        }
    }

    @Test func aListenerTerminatedByTheServerIsReplacedAndTheHostsStayCurrent() async throws {
        try await FleetFixture.with { fleet in
            try await fleet.database.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name = 'wxmediafs'
                """)
            let delay = try await Self.delay(
                fleet, prime: #"stat "$B/image/after.jpg""#, change: #"cp "$S/cat.jpg" "$A/image/after.jpg""#,
                check: #"cmp -s "$S/cat.jpg" "$B/image/after.jpg""#)
            #expect(delay != nil, "a change after the terminations shows within 2 s")
        }
    }

    @Test func withPostgreSQLAwayCallsFailInTimeAndWorkAgainWhenItReturns() async throws {
        try await FleetFixture.with(arguments: ["--request-timeout", "3s"]) { fleet in
            #expect(try await Self.succeeds(fleet, #"cp "$S/cat.jpg" "$A/image/before.jpg""#))
            let server = try TestPostgres.cluster()
            try await server.stopServer()
            do {
                let start = ContinuousClock.now
                let lookup = try await Self.shell(fleet, #"stat "$A/image/never-seen.jpg""#)
                let took = start.duration(to: .now)
                #expect(lookup.status != 0 && lookup.stderr.contains("Input/output error"), "\(lookup.stderr)")
                // Bounded by the 3 s request timeout, not by a server that is not coming back.
                #expect(took < .seconds(3) * 3, "the lookup ended within the request timeout (\(took))")
                let copy = try await Self.shell(fleet, #"cp "$S/thumb.jpg" "$A/image/during.jpg""#)
                #expect(copy.status != 0, "an upload with the catalog away is not reported done")
                let status = try await Command.run(Command.wxmediafsPath, ["status", fleet.hosts[0].mountpoint])
                #expect(status.stdout.contains("UNREACHABLE"), "status: \(status.stdout)")
                #expect(fleet.hosts[0].log.contains("unreachable"))
            } catch {
                try? await server.startServer()
                throw error
            }
            try await server.startServer()
            let recovered = try await eventually(within: .seconds(30), every: .milliseconds(250)) {
                try await Self.succeeds(fleet, #"cp "$S/thumb.jpg" "$A/image/after.jpg""#)
            }
            #expect(recovered, "uploads work again without a remount")
            let seen = try await eventually(within: .seconds(2)) {
                try await Self.succeeds(
                    fleet, #"cmp -s "$S/thumb.jpg" "$B/image/after.jpg" && [ -e "$B/image/before.jpg" ]"#)
            }
            #expect(seen, "and the other host sees them")
            let status = try await Command.run(Command.wxmediafsPath, ["status", fleet.hosts[0].mountpoint])
            #expect(status.stdout.contains("reachable") && !status.stdout.contains("UNREACHABLE"), "\(status.stdout)")
        }
    }

    @Test(arguments: ["stable", "legacy"])
    func threeHostsFetchOneTokenAndOneMoreWhenItIsRetired(endpoint: String) async throws {
        try await FleetFixture.with(hosts: 3, arguments: ["--token-endpoint", endpoint]) { fleet in
            let counter = endpoint == "stable" ? "stable_token" : "token"
            let fetches = { try await fleet.emulator.counters()[counter, default: 0] }
            for round in 0..<2 {
                let copies = fleet.hosts.map { host in
                    Task { try await host.shell(#"cp "$S/cat.jpg" "$M/image/t\#(round).jpg.$$""#) }
                }
                for copy in copies { #expect(try await copy.value.status == 0, "round \(round)") }
            }
            #expect(try await fetches() == 1, "one token fetch for the fleet's work")

            // The server retires the token; all three hosts meet 40001 at once.
            try await fleet.emulator.retireTokens()
            let copies = fleet.hosts.map { host in
                Task { try await host.shell(#"cp "$S/thumb.jpg" "$M/image/after.jpg.$$""#) }
            }
            for copy in copies { #expect(try await copy.value.status == 0, "uploads after the refusal succeed") }
            #expect(try await fetches() == 2, "one more fetch, not three")
        }
    }

    @Test func aQuotaOneHostMeetsPausesTheOthersUploads() async throws {
        try await FleetFixture.with { fleet in
            try await fleet.emulator.setFaults(#"{"rules":[{"endpoint":"upload","kind":"quota","fraction":1}]}"#)
            let onA = try await Self.shell(fleet, #"cp "$S/cat.jpg" "$A/image/q.jpg""#)
            #expect(onA.status != 0 && onA.stderr.contains("Resource temporarily unavailable"), "\(onA.stderr)")
            try await fleet.emulator.setFaults(#"{"rules":[]}"#)
            let uploads = try await fleet.emulator.counters()["upload", default: 0]
            let onB = try await Self.shell(fleet, #"cp "$S/cat.jpg" "$B/image/q.jpg""#)
            #expect(onB.status != 0 && onB.stderr.contains("Resource temporarily unavailable"), "\(onB.stderr)")
            // From the fleet's pause: B never met the quota, and sent nothing to meet it.
            #expect(try await fleet.emulator.counters()["upload", default: 0] == uploads, "without asking the server")
            #expect(fleet.hosts[1].log.contains("45009"), "host B's log names the quota")
        }
    }

    @Test func theCatalogPasswordIsNeverInArgvLogsStatusOrTheCacheDir() async throws {
        try await FleetFixture.with(hosts: 1) { fleet in
            let password = fleet.database.password
            let host = fleet.hosts[0]
            #expect(try await Self.succeeds(fleet, #"cp "$S/cat.jpg" "$A/image/p.jpg""#))
            let cmdline =
                (try? String(contentsOfFile: "/proc/\(host.processIdentifier)/cmdline", encoding: .utf8)) ?? ""
            #expect(!cmdline.isEmpty && !cmdline.contains(password), "not in argv")
            #expect(!host.log.contains(password), "not in the log")
            let status = try await Command.run(Command.wxmediafsPath, ["status", host.mountpoint, "--json"])
            #expect(status.status == 0 && !status.stdout.contains(password), "not in status")
            let grep = try await Command.run("/bin/grep", ["-rlF", password, host.cacheDirectory])
            #expect(grep.status == 1, "no file in the cache dir holds it: \(grep.stdout)")

            // A password in the URL is refused before anything starts.
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            let url = fleet.database.url.replacingOccurrences(of: "@", with: ":\(password)@")
            let refused = try await MountFixture.daemonize(
                emulator: fleet.emulator, folder: folder, arguments: ["--catalog-url", url])
            #expect(refused.status == 64 && refused.stderr.contains("ps"), "\(refused.stderr)")
            #expect(!MountFixture.isMounted(folder + "/mnt"))

            // A wrong password from the file is a clear refusal, and the mount does not start.
            try "wrong-password\n".write(toFile: folder + "/pw", atomically: true, encoding: .utf8)
            let wrong = try await MountFixture.daemonize(
                emulator: fleet.emulator, folder: folder,
                arguments: [
                    "--catalog-url", fleet.database.url, "--catalog-password-file", folder + "/pw", "--catalog-tls",
                    "disable",
                ])
            #expect(wrong.status != 0 && wrong.stderr.contains("password authentication failed"), "\(wrong.stderr)")
            #expect(!wrong.stderr.contains("wrong-password"))
            #expect(!MountFixture.isMounted(folder + "/mnt"))

            // TLS required of a server that offers none: refused, saying so.
            let tls = try await MountFixture.daemonize(
                emulator: fleet.emulator, folder: folder,
                arguments: ["--catalog-url", fleet.database.url, "--catalog-tls", "require"])
            #expect(tls.status != 0 && tls.stderr.contains("offers no TLS"), "\(tls.stderr)")
            #expect(!MountFixture.isMounted(folder + "/mnt"))
        }
    }
}
