import Testing
import WeChatMedia
import WeChatMediaFS

/// The rule that names the server's materials as files (see `MaterialNames`).
@Suite("Material file names")
struct MaterialNamesTests {
    static func item(_ id: String, _ name: String, at time: Int64 = 1_796_116_470) -> MaterialItem {
        MaterialItem(mediaID: id, name: name, updateTime: time, url: nil)
    }

    @Test func theOldestKeepsASharedNameAndTheOthersAreTaggedByTheirID() {
        let items = [
            Self.item("CCCCCCCCcc", "a.jpg", at: 3), Self.item("AAAAAAAAaa", "a.jpg", at: 1),
            Self.item("BBBBBBBBbb", "a.jpg", at: 2), Self.item("DDDDDDDDdd", "b.jpg", at: 4),
        ]
        let names = MaterialNames.names(for: items)
        #expect(names["AAAAAAAAaa"] == "a.jpg")
        #expect(names["BBBBBBBBbb"] == "a~BBBBBBBB.jpg")
        #expect(names["CCCCCCCCcc"] == "a~CCCCCCCC.jpg")
        #expect(names["DDDDDDDDdd"] == "b.jpg")
        #expect(MaterialNames.names(for: items.reversed()) == names, "the same whatever the listing's order")
        let newer = items + [Self.item("EEEEEEEEee", "a.jpg", at: 9)]
        let again = MaterialNames.names(for: newer)
        #expect(items.allSatisfy { again[$0.mediaID] == names[$0.mediaID] }, "a newcomer renames nobody")
    }

    @Test func namesThisMountGivesAreNotTakenByOthers() {
        let names = MaterialNames.names(
            for: [Self.item("XXXXXXXXxx", "mine.jpg"), Self.item("MINE", "mine.jpg", at: 1)],
            reserved: ["mine.jpg": "MINE"])
        #expect(names["MINE"] == "mine.jpg")
        #expect(names["XXXXXXXXxx"] == "mine~XXXXXXXX.jpg")
    }

    @Test func idsThatShareTheirFirstCharactersGetLongerTags() {
        let names = MaterialNames.names(for: [
            Self.item("SAMEPREFaaaaaaaa1", "x.jpg", at: 1), Self.item("SAMEPREFbbbbbbbb2", "x.jpg", at: 2),
            Self.item("SAMEPREFcccccccc3", "x~SAMEPREF.jpg", at: 0),
        ])
        #expect(Set(names.values).count == 3, "\(names)")
        #expect(names["SAMEPREFbbbbbbbb2"] == "x~SAMEPREFbbbbbbbb.jpg")
    }

    @Test func anyServerNameBecomesAValidFileName() {
        #expect(MaterialNames.cleaned("a/b.jpg") == "a_b.jpg")
        #expect(MaterialNames.cleaned("") == "material")
        #expect(MaterialNames.cleaned(".") == "material")
        #expect(MaterialNames.cleaned("..") == "material")
        #expect(MaterialNames.cleaned("nul\0.jpg") == "nul_.jpg")
        #expect(MaterialNames.cleaned("x.jpg.media_id") == "x.jpg.media_id_", "never taken for a sidecar")
        let long = MaterialNames.cleaned(String(repeating: "猫", count: 100) + ".jpg")
        #expect(long.utf8.count <= MaterialNames.maxBytes)
        #expect(long.hasSuffix(".jpg") && long.hasPrefix("猫"))
        #expect((long + ".media_id").utf8.count <= 255, "its sidecar fits too")
        let tagged = MaterialNames.names(for: [
            Self.item("LONGLONGaa", String(repeating: "n", count: 300), at: 1),
            Self.item("LONGLONGbb", String(repeating: "n", count: 300), at: 2),
        ])
        #expect(tagged.values.allSatisfy { $0.utf8.count <= MaterialNames.maxBytes })
        #expect(Set(tagged.values).count == 2)
    }
}
