import EmulatorTestSupport
import FUSEKit
import Foundation
import MediaCatalog
import Testing
import WeChatMedia
import WeChatMediaFS

#if canImport(Glibc)
import Glibc
#endif

/// Rows an older version stored without checking what the server said: none may crash a mount,
/// and a remount on the same catalog answers too.
@Suite("Catalog rows no server would send")
struct OldCatalogRowsTests {
    static let now: Int64 = 1_796_116_470

    static func row(_ name: String, createdAt: Int64?, mediaID: String?, state: CatalogEntry.State = .uploaded)
        -> CatalogEntry
    {
        CatalogEntry(
            folder: .top(.image), name: name, state: state, mediaID: mediaID, format: .jpeg, size: 9059,
            createdAt: createdAt, mode: 0o644, uid: 0, gid: 0, accessTime: .max, modificationTime: .min,
            changeTime: -1)
    }

    @Test func implausibleTimesAndIdsAreHiddenAndPurgedNotTrappedOn() async throws {
        let clock = ManualClock(seconds: Self.now)
        let service = InMemoryMediaService(clock: clock)
        let core = try await CoreFixture.make(clock: clock, service: service)
        defer { core.remove() }
        let hostile: [(String, Int64?, String?)] = [
            ("max.jpg", .max, "idMax"), ("min.jpg", .min, "idMin"), ("minus.jpg", -1, "idMinus"),
            ("zero.jpg", 0, "idZero"), ("dots.jpg", Self.now, "../../etc/passwd"),
            ("long.jpg", Self.now, String(repeating: "x", count: 100_000)),
        ]
        for (name, createdAt, id) in hostile {
            _ = try await core.catalog.insert(Self.row(name, createdAt: createdAt, mediaID: id))
            if let id, let createdAt {
                try await core.catalog.record(
                    KnownMedia(
                        mediaID: id, type: .image, size: 1, contentType: "image/jpeg", createdAt: createdAt,
                        firstSeen: Self.now))
            }
        }
        try await core.copy(Samples.bytes("cat.jpg"), to: "image/fine.jpg")

        for attempt in ["first mount", "remount"] {
            let mount = attempt == "first mount" ? core : try await core.reopened()
            let names = try await mount.list("image")
            // Times outside 2000...2100 are no server's: hidden. Odd ids with a real time stay
            // listed (they hurt nobody) and are answered without a trap.
            #expect(
                !names.contains("max.jpg") && !names.contains("min.jpg") && !names.contains("minus.jpg"), "\(attempt)")
            #expect(names.contains("fine.jpg") && names.contains("dots.jpg"), "\(attempt): \(names)")
            for name in names {
                let attributes = try #require(try await mount.attributes("image/" + name), "\(attempt) \(name)")
                _ = try await mount.fileSystem.listxattr(inode: attributes.inode)
            }
            #expect(try await mount.inode("image/max.jpg") == nil)
            let byID = try await mount.list("by-id")
            #expect(!byID.contains("idMax") && !byID.contains("idMin"), "\(byID)")
            #expect(try await mount.inode("by-id/idMax") == nil)
            // A name past NAME_MAX is no name at all (the kernel sends up to 1024 bytes).
            #expect(
                await CoreFixture.errno {
                    _ = try await mount.attributes("by-id/" + String(repeating: "y", count: 100_000))
                } == ENAMETOOLONG)
        }
        await core.fileSystem.sweep()
        for name in ["max.jpg", "min.jpg", "minus.jpg", "zero.jpg"] {
            #expect(try await core.catalog.entry(in: .top(.image), named: name) == nil, "\(name) purged")
        }
        #expect(try await core.catalog.entry(in: .top(.image), named: "fine.jpg") != nil)
    }

    @Test func kernelTimesPastWhatNanosecondsHoldAreClamped() async throws {
        let clock = ManualClock(seconds: Self.now)
        let core = try await CoreFixture.make(clock: clock, service: InMemoryMediaService(clock: clock))
        defer { core.remove() }
        try await core.copy(Samples.bytes("cat.jpg"), to: "image/t.jpg")
        let inode = try #require(try await core.inode("image/t.jpg"))
        // touch -d with a year far past 2262: the kernel sends seconds no Int64 of nanoseconds holds.
        let far = timespec(tv_sec: Int.max / 2, tv_nsec: 0)
        let (attributes, _) = try await core.fileSystem.setattr(
            inode: inode, changes: AttributeChanges(accessTime: far, modificationTime: far), caller: CoreFixture.caller)
        #expect(attributes.modificationTime.tv_sec > 9_000_000_000)
    }
}
