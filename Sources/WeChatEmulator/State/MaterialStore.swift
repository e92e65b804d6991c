import Foundation
import WeChatMedia

/// A permanent material the emulator holds: it never expires; only `del_material` removes it.
struct StoredMaterial: Codable, Sendable {
    var id: String
    var type: MediaType
    var format: MediaFormat
    var size: Int64
    /// The uploader's file name, as sent: what the console shows and `batchget_material` lists.
    var name: String
    var updateTime: Int64
    /// Orders the library: listings are newest first, and two adds in one second stay in order.
    var sequence: Int64
    /// A video's `description`: `{"title","introduction"}`.
    var title: String?
    var introduction: String?
}

/// How many materials of each kind the library takes before `add_material` answers 45034: the
/// current docs' 100,000 images (thumbs are counted with them) and 1,000 voices and videos.
public struct MaterialCaps: Sendable, Equatable {
    public var image: Int
    public var voice: Int
    public var video: Int

    public static let documented = MaterialCaps(image: 100_000, voice: 1_000, video: 1_000)

    public init(image: Int, voice: Int, video: Int) {
        self.image = image
        self.voice = voice
        self.video = video
    }

    /// `image=N,voice=N,video=N`, any of them, in any order; the others keep the documented cap.
    public init?(parsing text: String) {
        self = .documented
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Int(parts[1]), value >= 0 else { return nil }
            switch parts[0] {
            case "image": image = value
            case "voice": voice = value
            case "video": video = value
            default: return nil
            }
        }
    }

    func cap(for type: MediaType) -> Int {
        switch type {
        case .image, .thumb: image
        case .voice: voice
        case .video: video
        }
    }
}

/// The permanent library under `DATA/material/` (`ID.bin` and `ID.json`, metadata written last)
/// and the article images under `DATA/article-images/`. Both persist across restarts.
actor MaterialStore {
    enum Added {
        case added(StoredMaterial)
        /// The type's cap is reached (45034).
        case full
    }

    private let directory: String
    private let imageDirectory: String
    private let clock: EmulatorClock
    private let caps: MaterialCaps
    private var index: [String: StoredMaterial] = [:]
    private var nextSequence: Int64 = 0

    init(dataDirectory: String, clock: EmulatorClock, caps: MaterialCaps) throws {
        self.directory = dataDirectory + "/material"
        self.imageDirectory = dataDirectory + "/article-images"
        self.clock = clock
        self.caps = caps
        for folder in [directory, imageDirectory] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        index = try StoredRecords.load(StoredMaterial.self, in: directory, id: \.id)
        nextSequence = (index.values.map(\.sequence).max() ?? -1) + 1
    }

    /// Where an upload in progress spools its bytes before it is judged.
    func temporaryPath() -> String {
        directory + "/.upload-" + RandomIDs.hint()
    }

    /// Takes the spooled file as a new material, unless its type's library is full.
    func add(
        spoolPath: String, type: MediaType, format: MediaFormat, size: Int64, name: String,
        title: String?, introduction: String?
    ) throws -> Added {
        guard count(of: type) < caps.cap(for: type) else { return .full }
        let material = StoredMaterial(
            id: RandomIDs.mediaID(), type: type, format: format, size: size, name: name, updateTime: clock.now,
            sequence: nextSequence, title: title, introduction: introduction)
        nextSequence += 1
        guard rename(spoolPath, Self.bytesPath(directory, material.id)) == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
        try AtomicFile.write(try JSONEncoder().encode(material), to: directory + "/" + material.id + ".json")
        index[material.id] = material
        return .added(material)
    }

    func lookup(_ id: String) -> StoredMaterial? { index[id] }

    /// Removes a material for good; false when there is none by that id.
    func delete(_ id: String) -> Bool {
        guard index.removeValue(forKey: id) != nil else { return false }
        unlink(directory + "/" + id + ".json")
        unlink(Self.bytesPath(directory, id))
        return true
    }

    /// One page of a type's materials, newest first, and how many there are in all.
    func page(of type: MediaType, offset: Int, count: Int) -> (total: Int, items: [StoredMaterial]) {
        let all = index.values.filter { $0.type == type }.sorted { $0.sequence > $1.sequence }
        guard offset < all.count else { return (all.count, []) }
        return (all.count, Array(all[offset..<min(all.count, offset + count)]))
    }

    /// How many materials the library holds of `type` (thumbs and images count together).
    func count(of type: MediaType) -> Int {
        switch type {
        case .image, .thumb: index.values.count(where: { $0.type == .image || $0.type == .thumb })
        default: index.values.count(where: { $0.type == type })
        }
    }

    /// Per listed type, as `get_materialcount` reports it.
    func counts() -> (image: Int, voice: Int, video: Int) {
        (
            index.values.count(where: { $0.type == .image }), index.values.count(where: { $0.type == .voice }),
            index.values.count(where: { $0.type == .video })
        )
    }

    func bytesPath(for id: String) -> String { Self.bytesPath(directory, id) }

    /// Keeps an article image (`media/uploadimg`): its id names the file its URL serves.
    func addArticleImage(spoolPath: String, format: MediaFormat) throws -> String {
        let id = RandomIDs.mediaID() + "." + format.fileExtension
        guard rename(spoolPath, imageDirectory + "/" + id) == 0 else { throw CocoaError(.fileWriteUnknown) }
        return id
    }

    /// The file of an article image, if there is one by that name.
    func articleImagePath(_ id: String) -> String? {
        guard !id.isEmpty, !id.contains("/"), !id.hasPrefix(".") else { return nil }
        let path = imageDirectory + "/" + id
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    func reset() {
        for id in Array(index.keys) { _ = delete(id) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: imageDirectory)) ?? [] {
            unlink(imageDirectory + "/" + name)
        }
    }

    private static func bytesPath(_ directory: String, _ id: String) -> String {
        StoredRecords.bytesPath(directory, id)
    }
}
