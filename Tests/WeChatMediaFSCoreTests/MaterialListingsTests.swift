import EmulatorTestSupport
import Foundation
import Synchronization
import Testing
import WeChatMedia
import WeChatMediaFS

/// The server's material listing as the mount will use it: crawled whole, kept for its lifetime,
/// one crawl of a type at a time, and a crawl that does not end refused.
@Suite("Material listings")
struct MaterialListingsTests {
    /// A library of `total` items served 20 a page, counting the pages asked; with `holds`, pages
    /// wait until `release()`. `endless` serves new ids on every page and a total always ahead.
    final class FakeLibrary: MaterialLister {
        let total: Int
        let endless: Bool
        private let state = Mutex((pages: 0, held: true, waiting: [CheckedContinuation<Void, Never>]()))
        let holds: Bool

        init(total: Int, endless: Bool = false, holds: Bool = false) {
            self.total = total
            self.endless = endless
            self.holds = holds
        }

        var pagesAsked: Int { state.withLock { $0.pages } }

        func release() {
            let waiting = state.withLock { state in
                state.held = false
                defer { state.waiting = [] }
                return state.waiting
            }
            waiting.forEach { $0.resume() }
        }

        func listMaterial(_ type: MediaType, offset: Int, count: Int) async throws -> MaterialPage {
            let page = state.withLock { state in
                state.pages += 1
                return state.pages
            }
            if holds {
                await withCheckedContinuation { continuation in
                    let held = state.withLock { state in
                        if state.held { state.waiting.append(continuation) }
                        return state.held
                    }
                    if !held { continuation.resume() }
                }
            }
            let range = endless ? (page * count)..<(page * count + count) : offset..<min(total, offset + count)
            let items = range.map { index in
                MaterialItem(mediaID: "id\(index)", name: "n\(index).jpg", updateTime: 1_796_116_470, url: nil)
            }
            // Endless: a total that keeps growing ahead of the crawl.
            return MaterialPage(totalCount: endless ? offset + 2 * count : total, items: items)
        }
    }

    @Test func aListingIsCrawledWholeAndKeptForItsLifetime() async throws {
        let library = FakeLibrary(total: 45)
        let clock = ManualClock(seconds: 1_796_116_470)
        let listings = MaterialListings(lister: library, lifetimeSeconds: 60, clock: clock)
        let items = try await listings.items(of: .image)
        #expect(items.map(\.mediaID) == (0..<45).map { "id\($0)" })
        #expect(library.pagesAsked == 3)
        _ = try await listings.items(of: .image)
        #expect(library.pagesAsked == 3, "within the lifetime: no request")
        clock.advance(seconds: 61)
        _ = try await listings.items(of: .image)
        #expect(library.pagesAsked == 6, "past it: one more crawl")
        listings.invalidate(.image)
        _ = try await listings.items(of: .image)
        #expect(library.pagesAsked == 9, "after this mount changed the library: one more")
    }

    @Test func askersWhileACrawlRunsShareIt() async throws {
        let library = FakeLibrary(total: 30, holds: true)
        let listings = MaterialListings(
            lister: library, lifetimeSeconds: 60, clock: ManualClock(seconds: 1_796_116_470))
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<5 { group.addTask { try await listings.items(of: .voice).count } }
            let started = await eventually { library.pagesAsked == 1 }
            #expect(started)
            library.release()
            for try await count in group { #expect(count == 30) }
        }
        #expect(library.pagesAsked == 2, "one crawl of 2 pages for 5 askers")
    }

    @Test func aCrawlThatDoesNotEndIsRefused() async throws {
        let library = FakeLibrary(total: 40, endless: true)
        let listings = MaterialListings(
            lister: library, lifetimeSeconds: 60, clock: ManualClock(seconds: 1_796_116_470))
        let error = await #expect(throws: TransportError.self) { try await listings.items(of: .image) }
        #expect(String(describing: error).contains("did not end after 8 pages"), "\(String(describing: error))")
        #expect(library.pagesAsked == 8, "40 items are 2 pages; 5 more of slack, then no further")
    }

    @Test func theRealClientCrawlsTheEmulatorsLibrary() async throws {
        try await EmulatorFixture.with { f in
            let client = f.makeClient()
            let directory = try TemporaryDirectory.make()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = directory + "/cat.jpg"
            try Data(Samples.bytes("cat.jpg")).write(to: URL(fileURLWithPath: path))
            var added: [String] = []
            for index in 0..<25 {
                added.append(try await client.addMaterial(fileAt: path, as: .image, name: "c\(index).jpg").mediaID)
            }
            let listings = MaterialListings(
                lister: client, lifetimeSeconds: 60, clock: ManualClock(seconds: 1_796_116_470))
            let items = try await listings.items(of: .image)
            #expect(items.map(\.mediaID) == added.reversed(), "newest first, each once")
            #expect(try await f.counters()["batchget_material"] == 2)
        }
    }
}
