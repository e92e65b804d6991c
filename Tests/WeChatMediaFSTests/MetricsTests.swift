import EmulatorTestSupport
import Foundation
import Testing

@Suite("Prometheus metrics")
struct MetricsTests {
    /// Uploads (one retried after errcode -1, one refused by the rules), a download and a cached
    /// read, then a real scrape parsed by prometheus_client: every count is the one expected.
    /// The cap (24 KiB) keeps the downloaded MP3 (20,529 bytes) and evicts both JPEGs for it.
    @Test func aScrapeCountsUploadsDownloadsRefusalsAndTheCache() async throws {
        try await MountFixture.with(arguments: ["--metrics-address", "127.0.0.1:0", "--cache-max-size", "24K"]) { m in
            let url = try await m.metricsURL()
            #expect(url.hasPrefix("http://127.0.0.1:") && url.hasSuffix("/metrics"))
            // Every second upload request answers errcode -1: the second cp is retried once.
            try await m.emulator.setFaults(#"{"rules":[{"endpoint":"upload","kind":"errcode","fraction":0.5}]}"#)
            let copies = try await m.shell(
                #"cp "$S/cat.jpg" "$M/image/a.jpg" && cp "$S/cat.jpg" "$M/image/b.jpg" && echo both; cp "$S/cat.png" "$M/image/c.png" 2>/dev/null || echo refused"#
            )
            #expect(copies.stdout == "both\nrefused\n", "\(copies.stdout) \(copies.stderr)")
            try await m.emulator.setFaults(#"{"rules":[]}"#)
            let token = try await m.emulator.legacyToken()
            let voice = try await m.emulator.upload(
                Samples.bytes("hello.mp3"), filename: "hello.mp3", type: "voice", token: token)
            let id = try #require(voice.json["media_id"] as? String)
            let reads = try await m.shell(
                #"cmp "$S/hello.mp3" "$M/by-id/\#(id)" && cmp "$S/hello.mp3" "$M/by-id/\#(id)" && echo same"#)
            #expect(reads.stdout == "same\n", "\(reads.stderr)")

            let scrape = try await Scrape.fetch(url)
            #expect(scrape.contentType.hasPrefix("text/plain; version=0.0.4"), "\(scrape.contentType)")
            let ok = ["type": "image", "outcome": "ok", "errcode": "0"]
            #expect(scrape.value("wxmediafs_uploads_total", ok) == 2)
            #expect(
                scrape.value("wxmediafs_uploads_total", ["type": "image", "outcome": "EINVAL", "errcode": "40005"]) == 1
            )
            #expect(scrape.value("wxmediafs_upload_bytes_total", ["type": "image"]) == 18118, "two of 9,059 bytes")
            #expect(scrape.value("wxmediafs_upload_duration_seconds_count", ["type": "image", "result": "ok"]) == 2)
            #expect(scrape.type(of: "wxmediafs_upload_duration_seconds") == "histogram")
            #expect(scrape.value("wxmediafs_api_retries_total", ["operation": "upload"]) == 1)
            #expect(scrape.value("wxmediafs_api_requests_total", ["kind": "upload"]) == 3, "two uploads, one retried")
            #expect(scrape.value("wxmediafs_token_fetches_total", ["errcode": "0"]) == 1)
            #expect(scrape.value("wxmediafs_downloads_total", ["type": "voice", "outcome": "ok", "errcode": "0"]) == 1)
            #expect(scrape.value("wxmediafs_download_bytes_total", ["type": "voice"]) == 20529)
            #expect(scrape.value("wxmediafs_download_duration_seconds_count", ["type": "voice"]) == 1)
            #expect(scrape.value("wxmediafs_cache_misses_total") == 1, "the first read downloads")
            #expect(scrape.value("wxmediafs_cache_hits_total") == 1, "the second read is served from the cache")
            #expect(scrape.value("wxmediafs_cache_evictions_total") == 2, "both JPEGs made room for the MP3")
            #expect(scrape.value("wxmediafs_cache_bytes") == 20529)
            #expect(scrape.value("wxmediafs_upload_queue_depth") == 0, "sync mode queues nothing")
            #expect(scrape.value("wxmediafs_transfers_in_flight", ["direction": "upload"]) == 0)
            #expect(scrape.value("wxmediafs_transfers_in_flight", ["direction": "download"]) == 0)
            for operation in ["lookup", "create", "write", "flush", "open", "read", "release"] {
                let count = scrape.value("wxmediafs_fuse_operation_duration_seconds_count", ["operation": operation])
                #expect((count ?? 0) > 0, "FUSE \(operation)")
            }
            // The status asked for above started the quota's first asking; a scrape exports it.
            let upload = ["cgi_path": "/cgi-bin/media/upload"]
            let quota = try #require(
                try await eventuallyValue {
                    let scrape = try await Scrape.fetch(url)
                    return scrape.value("wxmediafs_api_quota_remaining", upload) == nil ? nil : scrape
                })
            #expect(quota.value("wxmediafs_api_quota_daily_limit", upload) == 5000, "the seed's documented quota")
            let used = try #require(quota.value("wxmediafs_api_quota_used", upload))
            #expect(quota.value("wxmediafs_api_quota_remaining", upload) == 5000 - used)
            #expect(quota.value("wxmediafs_api_quota_daily_limit", ["cgi_path": "/cgi-bin/media/get"]) == 10000)
        }
    }

    /// The permanent library's transfers are counted beside temporary media's, under their own
    /// `type`: an add as `material_image`, an article image as `article_image`.
    @Test func materialTransfersAreCountedByType() async throws {
        try await MountFixture.with(arguments: ["--metrics-address", "127.0.0.1:0"]) { m in
            let copy = try await m.shell(
                #"cp "$S/cat.jpg" "$M/material/image/a.jpg" && cp "$S/cat.png" "$M/material/article-images/b.png""#)
            #expect(copy.status == 0, "\(copy.stderr)")
            let scrape = try await Scrape.fetch(try await m.metricsURL())
            let ok = ["outcome": "ok", "errcode": "0"]
            #expect(scrape.value("wxmediafs_uploads_total", ok.merging(["type": "material_image"]) { $1 }) == 1)
            #expect(scrape.value("wxmediafs_upload_bytes_total", ["type": "material_image"]) == 9059)
            #expect(scrape.value("wxmediafs_uploads_total", ok.merging(["type": "article_image"]) { $1 }) == 1)
            #expect(scrape.value("wxmediafs_uploads_total", ok.merging(["type": "image"]) { $1 }) == nil)
        }
    }

    @Test func metricsAreOffUnlessAskedAndNotOnTheNetworkUnlessAllowed() async throws {
        try await MountFixture.with { m in
            let json = try await m.status(json: true).stdout
            #expect(json.contains("\"requests\"") && !json.contains("metricsURL"), "\(json)")
            #expect(!(try await m.status().stdout.contains("Metrics:")))
        }
        for address in ["0.0.0.0:9464", "[::]:9464", "192.0.2.1:9464"] {
            let refused = try await Command.run(
                Command.wxmediafsPath, ["mount", "/nonexistent", "--emulator", "--metrics-address", address])
            #expect(refused.status == 64, "\(address): \(refused.stderr)")
            #expect(refused.stderr.contains("--allow-remote-metrics"), "\(refused.stderr)")
        }
        let bad = try await Command.run(
            Command.wxmediafsPath, ["mount", "/nonexistent", "--emulator", "--metrics-address", "localhost"])
        #expect(bad.status == 64, "no port: \(bad.stderr)")
    }
}
