import EmulatorTestSupport
import Foundation
import Testing
import WeChatEmulator

@Suite("The daily quota in status")
struct QuotaStatusTests {
    /// Polls `wxmediafs status` until its text contains `text`; the last answer.
    func status(_ m: MountFixture, showing text: String) async throws -> String {
        var seen = ""
        _ = try await eventually {
            seen = try await m.status().stdout
            return seen.contains(text)
        }
        return seen
    }

    static func quota(upload: Int64, download: Int64, addMaterial: Int64) -> DailyQuota {
        var quota = DailyQuota(upload: upload, download: download)
        quota[.addMaterial] = addMaterial
        return quota
    }

    /// With the quota asked every second (a hidden option; a minute by default), status follows
    /// the uploads down to 0, and the upload past the quota fails with EAGAIN after its backoff.
    @Test func statusShowsTheRemainingQuotaAndAnUploadPastItIsEAGAIN() async throws {
        try await MountFixture.with(
            dailyQuota: Self.quota(upload: 2, download: 50, addMaterial: 7),
            arguments: ["--quota-interval", "1s", "--request-timeout", "3s"]
        ) { m in
            let fresh = try await status(m, showing: "Daily quota: upload 2 of 2 left, download 50 of 50 left")
            #expect(
                fresh.contains(
                    "Daily quota: upload 2 of 2 left, download 50 of 50 left, add_material 7 of 7 left (asked "),
                "\(fresh)")
            // A copy into the permanent library spends add_material's quota, not upload's.
            #expect(try await m.shell(#"cp "$S/cat.jpg" "$M/material/image/p.jpg""#).status == 0)
            _ = try await status(m, showing: "upload 2 of 2 left, download 50 of 50 left, add_material 6 of 7 left")
            #expect(try await m.shell(#"cp "$S/cat.jpg" "$M/image/a.jpg""#).status == 0)
            _ = try await status(m, showing: "upload 1 of 2 left")
            #expect(try await m.shell(#"cp "$S/cat.jpg" "$M/image/b.jpg""#).status == 0)
            let spent = try await status(m, showing: "upload 0 of 2 left")
            #expect(spent.contains("Daily quota: upload 0 of 2 left"), "\(spent)")
            let over = try await m.shell(#"cp "$S/cat.jpg" "$M/image/c.jpg""#)
            #expect(over.stderr.contains("Resource temporarily unavailable"), "\(over.stderr)")
            #expect(m.log.contains("upload image/c.jpg: EAGAIN (errcode 45009, "), "\(m.log)")
            let document = try await m.status(json: true).stdout
            let json = try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any]
            let quota = json?["quota"] as? [[String: Any]] ?? []
            let upload = try #require(quota.first { $0["kind"] as? String == "upload" }, "\(document)")
            #expect(upload["cgiPath"] as? String == "/cgi-bin/media/upload")
            #expect(upload["dailyLimit"] as? Int == 2 && upload["used"] as? Int == 2 && upload["remain"] as? Int == 0)
        }
    }

    /// However often status is asked, the server is asked once a minute: three requests (the
    /// upload, download and add_material quotas) for eight status calls.
    @Test func theServerIsAskedAtMostOnceAMinute() async throws {
        try await MountFixture.with { m in
            _ = try await status(m, showing: "Daily quota: upload 5000 of 5000 left")
            for _ in 0..<8 { #expect(try await m.status().status == 0) }
            #expect(try await m.emulator.counters()["quota"] == 3)
        }
    }
}
