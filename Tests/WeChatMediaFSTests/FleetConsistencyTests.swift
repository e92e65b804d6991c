import Deadlines
import EmulatorTestSupport
import FUSEKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A fleet that keeps every name (issue 20): settings the shared rows depend on are the
/// fleet's, structural changes racing across hosts stay atomic, a stopped host's queue is
/// seen and can be released, and POSIX errnos and times hold across hosts.
@Suite("Fleet consistency", .serialized)
struct FleetConsistencyTests {
    static func shell(_ fleet: FleetFixture, _ script: String) async throws -> CommandResult {
        try await FleetTests.shell(fleet, script)
    }

    /// Whether every path in `paths` (relative to a mount) is there on every host within 2 s.
    static func reachableEverywhere(_ fleet: FleetFixture, _ paths: [String]) async throws -> Bool {
        guard !paths.isEmpty else { return true }
        let test = fleet.hosts.flatMap { host in paths.map { "[ -e '\(host.path($0))' ]" } }.joined(separator: " && ")
        return try await eventually(within: .seconds(2)) { try await FleetTests.succeeds(fleet, test) }
    }

    @Test func aHostAskingForAnotherMediaTTLIsRefusedNamingBothAndPurgesNothing() async throws {
        try await FleetFixture.with(hosts: 1) { fleet in
            #expect(try await FleetTests.succeeds(fleet, #"cp "$S/cat.jpg" "$A/image/kept.jpg""#))
            let folder = try TemporaryDirectory.make()
            defer { MountFixture.cleanUp(folder: folder) }
            do {
                let other = try await MountFixture.start(
                    emulator: fleet.emulator, folder: folder,
                    arguments: ["--catalog-url", fleet.database.url, "--media-ttl", "20s"],
                    environment: ["PGPASSWORD": fleet.database.password])
                try? await other.stop()
                Issue.record("a host with --media-ttl 20s mounted beside a fleet of 3 days")
            } catch {
                let said = String(describing: error)
                #expect(said.contains("3d") && said.contains("20s"), "the refusal names both values: \(said)")
            }
            #expect(try await FleetTests.succeeds(fleet, #"[ -s "$A/image/kept.jpg.media_id" ]"#))
        }
    }

    /// Each pair of structural changes, raced from two hosts, many rounds: after every round,
    /// whatever returned 0 is reachable by its name on every host, and no row is in no folder.
    @Test func structuralChangesRacedAcrossHostsAreAtomic() async throws {
        try await FleetFixture.with { fleet in
            let (a, b) = (fleet.hosts[0], fleet.hosts[1])
            var outcomes: [String: [String: Int]] = [:]
            func count(_ race: String, _ outcome: String) { outcomes[race, default: [:]][outcome, default: 0] += 1 }
            let rounds = 12
            for round in 0..<rounds {
                // create vs rmdir
                #expect(try await a.shell(#"mkdir "$M/image/d\#(round)""#).status == 0)
                #expect(try await FleetTests.succeeds(fleet, #"[ -d "$B/image/d\#(round)" ]"#))
                async let create = b.shell(#"cp "$S/cat.jpg" "$M/image/d\#(round)/f.jpg""#)
                async let remove = a.shell(#"rmdir "$M/image/d\#(round)""#)
                let (created, removed) = try await (create, remove)
                #expect(
                    !(created.status == 0 && removed.status == 0), "round \(round): both the create and the rmdir won")
                count("create/rmdir", created.status == 0 ? "create" : removed.status == 0 ? "rmdir" : "neither")
                if created.status == 0 {
                    #expect(try await Self.reachableEverywhere(fleet, ["image/d\(round)/f.jpg"]), "round \(round)")
                }

                // rename vs rename of one file
                #expect(try await a.shell(#"cp "$S/thumb.jpg" "$M/image/r\#(round).jpg""#).status == 0)
                #expect(try await FleetTests.succeeds(fleet, #"[ -e "$B/image/r\#(round).jpg" ]"#))
                async let toX = a.shell(#"mv "$M/image/r\#(round).jpg" "$M/image/x\#(round).jpg""#)
                async let toY = b.shell(#"mv "$M/image/r\#(round).jpg" "$M/image/y\#(round).jpg""#)
                let (movedX, movedY) = try await (toX, toY)
                #expect(!(movedX.status == 0 && movedY.status == 0), "round \(round): both renames returned 0")
                count("rename/rename", movedX.status == 0 ? "A" : movedY.status == 0 ? "B" : "neither")
                let winner =
                    movedX.status == 0 ? "image/x\(round).jpg" : movedY.status == 0 ? "image/y\(round).jpg" : nil
                if let winner { #expect(try await Self.reachableEverywhere(fleet, [winner]), "round \(round)") }

                // rename vs rm
                #expect(try await a.shell(#"cp "$S/thumb.jpg" "$M/image/m\#(round).jpg""#).status == 0)
                #expect(try await FleetTests.succeeds(fleet, #"[ -e "$B/image/m\#(round).jpg" ]"#))
                async let rename = a.shell(#"mv "$M/image/m\#(round).jpg" "$M/image/n\#(round).jpg""#)
                async let unlink = b.shell(#"rm "$M/image/m\#(round).jpg""#)
                let (renamed, unlinked) = try await (rename, unlink)
                #expect(!(renamed.status == 0 && unlinked.status == 0), "round \(round): rename and rm both returned 0")
                count("rename/rm", renamed.status == 0 ? "rename" : unlinked.status == 0 ? "rm" : "neither")
                if renamed.status == 0 {
                    #expect(try await Self.reachableEverywhere(fleet, ["image/n\(round).jpg"]), "round \(round)")
                }

                // mkdir vs mkdir, then rmdir vs rmdir, of one folder
                async let made1 = a.shell(#"mkdir "$M/image/s\#(round)""#)
                async let made2 = b.shell(#"mkdir "$M/image/s\#(round)""#)
                let (m1, m2) = try await (made1, made2)
                #expect((m1.status == 0) != (m2.status == 0), "round \(round): exactly one mkdir wins")
                #expect(try await Self.reachableEverywhere(fleet, ["image/s\(round)"]))
                async let gone1 = a.shell(#"rmdir "$M/image/s\#(round)""#)
                async let gone2 = b.shell(#"rmdir "$M/image/s\#(round)""#)
                let (g1, g2) = try await (gone1, gone2)
                #expect((g1.status == 0) != (g2.status == 0), "round \(round): exactly one rmdir wins")

                // two folders moved into each other from two hosts
                #expect(try await a.shell(#"mkdir "$M/image/p\#(round)" "$M/image/q\#(round)""#).status == 0)
                #expect(try await FleetTests.succeeds(fleet, #"[ -d "$B/image/q\#(round)" ]"#))
                async let pIntoQ = a.shell(#"mv "$M/image/p\#(round)" "$M/image/q\#(round)/""#)
                async let qIntoP = b.shell(#"mv "$M/image/q\#(round)" "$M/image/p\#(round)/""#)
                let (pq, qp) = try await (pIntoQ, qIntoP)
                #expect(!(pq.status == 0 && qp.status == 0), "round \(round): both folder moves returned 0")
                count("folder cycle", pq.status == 0 ? "A" : qp.status == 0 ? "B" : "neither")
                let nested =
                    pq.status == 0 ? ["image/q\(round)/p\(round)"] : qp.status == 0 ? ["image/p\(round)/q\(round)"] : []
                #expect(try await Self.reachableEverywhere(fleet, nested), "round \(round): the folders stay reachable")

                let orphans = try await fleet.database.scalar(
                    "SELECT count(*) FROM \(Self.schema).entry WHERE parent_id NOT IN (SELECT id FROM \(Self.schema).entry)"
                )
                #expect(orphans == 0, "round \(round): no entry in no folder")
            }
            print("fleet races over \(rounds) rounds each: \(outcomes)")
        }
    }

    static let schema = "wxmediafs_wxtestapp"

    /// PostgreSQL stopped under two hosts: lookups, listings and cached reads go on from each
    /// host's last view, calls never wait past their bound however many wait together, writes
    /// fail at once with EIO, status says since when the view is stale; once the server is
    /// back, both hosts work again within 2 s.
    @Test func withPostgreSQLAwayHostsAnswerFromTheirLastViewAndWorkAgainWithinTwoSeconds() async throws {
        try await FleetFixture.with(arguments: ["--request-timeout", "20s"]) { fleet in
            let copy = try await Self.shell(
                fleet, #"for i in 0 1 2 3 4 5 6 7; do cp "$S/cat.jpg" "$A/image/p$i.jpg"; done"#)
            #expect(copy.status == 0, "\(copy.stderr)")
            #expect(
                try await FleetTests.succeeds(
                    fleet, #"ls -l "$A/image" "$B/image" && cat "$B/image/p0.jpg" > /dev/null"#))
            let server = try TestPostgres.cluster()
            try await server.stopServer()
            do {
                let known = try await eventually(within: .seconds(5)) {
                    try await fleet.hosts[1].status().stdout.contains("answers from its last view")
                }
                #expect(known, "host B knows the database is away within 5 s and says so")
                // Eight lookups at once, known names and unknown ones: none waits its bound.
                let lookups = (0..<8).map { index in
                    Task { () -> (CommandResult, Duration) in
                        let start = ContinuousClock.now
                        let result = try await Self.shell(
                            fleet, #"stat "$B/image/p\#(index).jpg" > /dev/null; stat "$B/image/never\#(index).jpg""#)
                        return (result, start.duration(to: .now))
                    }
                }
                var slowest = Duration.zero
                for (index, lookup) in lookups.enumerated() {
                    let (result, took) = try await lookup.value
                    slowest = max(slowest, took)
                    // The promise: no call waits past --request-timeout (20 s here), however many
                    // wait together; the times are printed below for docs/fleet.md.
                    #expect(took < .seconds(20), "lookup \(index) took \(took)")
                    #expect(result.stderr.contains("No such file or directory"), "\(index): \(result.stderr)")
                    #expect(!result.stderr.contains("p\(index).jpg"), "a known name is found: \(result.stderr)")
                }
                print("fleet outage: 8 lookups at once, the slowest ended after \(slowest.wholeMilliseconds) ms")
                let listing = try await Self.shell(fleet, #"ls "$B/image" | wc -l; cmp "$S/cat.jpg" "$B/image/p0.jpg""#)
                #expect(
                    listing.status == 0 && listing.stdout == "16\n",
                    "8 files and 8 sidecars, and cached bytes: \(listing)")
                let start = ContinuousClock.now
                let write = try await Self.shell(fleet, #"cp "$S/thumb.jpg" "$B/image/during.jpg""#)
                let took = start.duration(to: .now)
                #expect(write.status != 0 && took < .seconds(20), "a write fails in time (\(took)): \(write.stderr)")
                #expect(fleet.hosts[1].log.contains("last view"), "the log says what happened in words")
                print("fleet outage: a write failed after \(took.wholeMilliseconds) ms")
            } catch {
                try? await server.startServer()
                throw error
            }
            try await server.startServer()
            let back = ContinuousClock.now
            let recovered = try await eventually(within: .seconds(2), every: .milliseconds(100)) {
                try await FleetTests.succeeds(
                    fleet, #"cp "$S/thumb.jpg" "$A/image/after-a.jpg" && cp "$S/thumb.jpg" "$B/image/after-b.jpg""#)
            }
            #expect(recovered, "both hosts write again within 2 s of the server's return")
            print(
                "fleet outage: both hosts wrote again \(back.duration(to: .now).wholeMilliseconds) ms after the server returned"
            )
        }
    }

    /// Issue 21, point 4: an insert or a removal is a statement that commits on its own; when the
    /// connection is lost between the commit and its answer, the catalog must learn that it
    /// committed rather than send it again (the name taken: EEXIST for a `cp` of a new name; the
    /// entry gone: ENOENT for an `rm` that removed it) or report it failed. Ten rounds a case:
    /// after a loss the pool may hand the closed connection out again, and a query written to it
    /// was never answered (with one round a case, a `cp` or `rm` failed with EIO after the 30 s
    /// timeout in about one run in four), so one round alone would let that through most of the
    /// time.
    @Test(arguments: ["INSERT INTO entry", "DELETE FROM entry"])
    func aConnectionLostRightAfterAWriteCommitsStillEndsInSuccess(statement: String) async throws {
        let markers = (1...10).map { "committed-then-lost-\($0)-" }
        try await DroppingProxy.with(inFrontOf: TestPostgres.cluster(), statement: statement, markers: markers) {
            proxy in
            try await FleetFixture.with(hosts: 1, catalogPort: proxy.port) { fleet in
                for marker in markers {
                    let copy = try await Self.shell(fleet, #"cp "$S/cat.jpg" "$A/image/\#(marker).jpg""#)
                    #expect(copy.status == 0, "cp of a new name succeeds: \(copy.stderr) \(fleet.hosts[0].log)")
                    let rows = try await fleet.database.scalar(
                        "SELECT count(*) FROM \(Self.schema).entry WHERE name = '\(marker).jpg'")
                    #expect(rows == 1, "one row for the name")
                    #expect(
                        try await FleetTests.succeeds(
                            fleet,
                            #"cmp -s "$S/cat.jpg" "$A/image/\#(marker).jpg" && [ -s "$A/image/\#(marker).jpg.media_id" ]"#
                        ))
                    let remove = try await Self.shell(fleet, #"rm "$A/image/\#(marker).jpg""#)
                    #expect(remove.status == 0, "rm succeeds: \(remove.stderr) \(fleet.hosts[0].log)")
                    #expect(
                        try await FleetTests.succeeds(fleet, #"[ ! -e "$A/image/\#(marker).jpg" ]"#),
                        "and the name is gone")
                }
                #expect(
                    proxy.drops == markers.count,
                    "the proxy lost the connection once a round, after the \(statement) committed")
            }
        }
    }

    @Test func aCreateWithoutOExclOfANameAnotherHostIsWritingIsEBUSYAndWithItEEXIST() async throws {
        try await FleetFixture.with { fleet in
            let signal = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: signal) }
            let writer = Task {
                try await Self.shell(
                    fleet,
                    """
                    exec 3>"$A/image/w.jpg"; cat "$S/cat.jpg" >&3
                    for i in $(seq 600); do [ -e '\(signal)/go' ] && break; sleep 0.05; done
                    exec 3>&-
                    """)
            }
            #expect(await eventually { FileManager.default.fileExists(atPath: fleet.hosts[0].path("image/w.jpg")) })
            let open = #"python3 -c 'import os,sys; os.open(sys.argv[1], int(sys.argv[2]))' "$B/image/w.jpg" "#
            let plain = try await Self.shell(fleet, open + "\(O_CREAT | O_WRONLY | O_TRUNC)")
            #expect(plain.status != 0 && plain.stderr.contains("Device or resource busy"), "\(plain.stderr)")
            let exclusive = try await Self.shell(fleet, open + "\(O_CREAT | O_EXCL | O_WRONLY)")
            #expect(exclusive.status != 0 && exclusive.stderr.contains("File exists"), "\(exclusive.stderr)")
            _ = FileManager.default.createFile(atPath: signal + "/go", contents: nil)
            #expect(try await writer.value.status == 0)
        }
    }

    /// A background host killed with files queued: once its session is gone the other host
    /// lists them, says whose they are (xattr and status), and an operator releases them.
    @Test func aStoppedHostsQueueIsListedNamedAndReleasable() async throws {
        try await FleetFixture.with(arguments: ["--uploads", "background"]) { fleet in
            try await fleet.emulator.setFaults(
                #"{"rules":[{"endpoint":"upload","kind":"delay","fraction":1,"delay_ms":60000}]}"#)
            #expect(try await FleetTests.succeeds(fleet, #"mkdir "$A/image/q" && [ -d "$B/image/q" ]"#))
            let copy = try await Self.shell(fleet, #"for i in 1 2 3; do cp "$S/cat.jpg" "$A/image/q/f$i.jpg"; done"#)
            #expect(copy.status == 0, "\(copy.stderr)")
            kill(fleet.hosts[0].processIdentifier, SIGKILL)
            _ = try await fleet.hosts[0].waitForExit()
            // What the reaper does 40 s after the last heartbeat, done now.
            try await fleet.database.execute(
                "DELETE FROM \(Self.schema).host_session WHERE host_key LIKE '%\(fleet.folders[0])%'")
            let listed = try await eventually(within: .seconds(3)) {
                try await Self.shell(fleet, #"ls "$B/image/q""#).stdout == "f1.jpg\nf2.jpg\nf3.jpg\n"
            }
            #expect(listed, "the stopped host's queued files are listed on the other host")
            let state = try await Self.shell(fleet, #"getfattr --only-values -n user.wechat.state "$B/image/q/f1.jpg""#)
            #expect(
                state.stdout.contains("queued on host") && state.stdout.contains("not running")
                    && state.stdout.contains(fleet.folders[0]), "\(state.stdout) \(state.stderr)")
            let read = try await Self.shell(fleet, #"cat "$B/image/q/f1.jpg" > /dev/null"#)
            #expect(read.status != 0 && read.stderr.contains("Input/output error"), "\(read.stderr)")
            let status = try await fleet.hosts[1].status()
            #expect(status.stdout.contains("3 file(s) queued on"), "\(status.stdout)")
            let hostKey = try #require(
                status.stdout.split(separator: "\n").first { $0.contains("Stopped host's queue") }
                    .flatMap { line in line.range(of: "queued on ").map { line[$0.upperBound...] } }
                    .map { String($0.prefix { $0 != "," }) })
            #expect(try await Self.shell(fleet, #"rmdir "$B/image/q""#).stderr.contains("not empty"))

            let release = try await Command.run(
                Command.wxmediafsPath, ["release-queue", fleet.hosts[1].path("image/q"), "--host", hostKey])
            #expect(release.status == 0 && release.stdout.contains("released 3 queued file(s)"), "\(release)")
            #expect(try await FleetTests.succeeds(fleet, #"[ -z "$(ls "$B/image/q")" ] && rmdir "$B/image/q""#))
            let again = try await Command.run(
                Command.wxmediafsPath, ["release-queue", fleet.hosts[1].mountpoint, "--host", hostKey])
            #expect(again.status != 0 && again.stderr.contains("no queued file"), "\(again.stderr)")
            let running = try await Command.run(
                Command.wxmediafsPath, ["release-queue", fleet.hosts[1].mountpoint, "--host", "nobody:/nowhere"])
            #expect(running.status != 0)
            try await fleet.emulator.setFaults(#"{"rules":[]}"#)
        }
    }

    /// Folders' times change with their entries, on the host that changed them and on the others.
    @Test func aFoldersTimesChangeWithItsEntriesOnEveryHost() async throws {
        try await FleetFixture.with { fleet in
            #expect(try await FleetTests.succeeds(fleet, #"mkdir "$A/image/t""#))
            let steps = [
                #"cp "$S/cat.jpg" "$A/image/t/a.jpg""#, #"mv "$A/image/t/a.jpg" "$A/image/t/b.jpg""#,
                #"rm "$A/image/t/b.jpg""#, #"mkdir "$A/image/t/sub""#, #"rmdir "$A/image/t/sub""#,
            ]
            for step in steps {
                let before = try await Self.shell(fleet, #"stat -c %Y.%y "$B/image/t" "$B/image""#).stdout
                try await Task.sleep(for: .milliseconds(20))
                #expect(try await Self.shell(fleet, step).status == 0, "\(step)")
                let changed = try await eventually(within: .seconds(2)) {
                    let now = try await Self.shell(fleet, #"stat -c %Y.%y "$B/image/t" "$B/image""#).stdout
                    return now.split(separator: "\n").first != before.split(separator: "\n").first
                }
                #expect(changed, "\(step): the folder's mtime changed on host B")
            }
            let top = try await Self.shell(fleet, #"stat -c %y "$A/image"; stat -c %y "$B/image""#).stdout
            let lines = top.split(separator: "\n")
            #expect(lines.count == 2 && lines[0] == lines[1], "image/ has one mtime on both hosts: \(top)")
        }
    }

    /// pjdfstest's timestamp assertions (and POSIX's for rename), by Tests/posix/timestamps.py,
    /// in a folder of an upload folder, on one host of a fleet and on an embedded catalog.
    @Test(arguments: ["sqlite", "postgresql"])
    func posixTimestampAssertionsPass(catalog: String) async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("posix/timestamps.py").path
        let run = { (mountpoint: String) async throws -> CommandResult in
            _ = try await Command.run("/bin/mkdir", [mountpoint + "/image/posix"])
            return try await Command.run(
                "/usr/bin/env",
                ["python3", script, mountpoint + "/image/posix", "--sample", Samples.folder + "/cat.jpg"])
        }
        let result: CommandResult
        if catalog == "sqlite" {
            result = try await MountFixture.with { mount in try await run(mount.mountpoint) }
        } else {
            result = try await FleetFixture.with(hosts: 1) { fleet in try await run(fleet.hosts[0].mountpoint) }
        }
        let failures = result.stdout.split(separator: "\n").filter { $0.hasPrefix("not ok") }
        #expect(
            result.status == 0 && failures.isEmpty, "\(catalog): \(failures.joined(separator: "\n")) \(result.stderr)")
        print("timestamps.py on \(catalog): \(result.stdout.split(separator: "\n").last ?? "")")
    }
}
