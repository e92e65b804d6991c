import Foundation
import WeChatMedia

/// A media file the emulator holds.
struct StoredMedia: Codable, Sendable {
    var id: String
    var type: MediaType
    var format: MediaFormat
    var size: Int64
    var createdAt: Int64
}

/// Media on disk under `DATA/media/`: `ID.bin` holds the bytes, `ID.json` the metadata, written
/// last so a crash never leaves metadata without bytes. Expired media are forgotten and deleted.
actor MediaStore {
    private let directory: String
    private let clock: EmulatorClock
    private let lifetime: Int64
    private var index: [String: StoredMedia] = [:]

    init(dataDirectory: String, clock: EmulatorClock, lifetimeSeconds: Int64) throws {
        self.directory = dataDirectory + "/media"
        self.clock = clock
        self.lifetime = lifetimeSeconds
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        index = try StoredRecords.load(StoredMedia.self, in: directory, id: \.id)
    }

    /// Where an upload in progress spools its bytes before it is judged.
    func temporaryPath() -> String {
        directory + "/.upload-" + RandomIDs.hint()
    }

    /// Takes the spooled file at `spoolPath` as new media and returns its record.
    func add(spoolPath: String, type: MediaType, format: MediaFormat, size: Int64) throws -> StoredMedia {
        let media = StoredMedia(id: RandomIDs.mediaID(), type: type, format: format, size: size, createdAt: clock.now)
        guard rename(spoolPath, Self.bytesPath(directory, media.id)) == 0 else {
            throw CocoaError(.fileWriteUnknown)
        }
        try AtomicFile.write(try JSONEncoder().encode(media), to: directory + "/" + media.id + ".json")
        index[media.id] = media
        return media
    }

    /// The live media with this id, or nil when unknown or expired (and then deleted).
    func lookup(_ id: String) -> StoredMedia? {
        guard let media = index[id] else { return nil }
        if media.createdAt + lifetime <= clock.now {
            remove(id)
            return nil
        }
        return media
    }

    func bytesPath(for id: String) -> String { Self.bytesPath(directory, id) }

    func reset() {
        for id in index.keys { remove(id) }
    }

    private func remove(_ id: String) {
        index[id] = nil
        unlink(directory + "/" + id + ".json")
        unlink(Self.bytesPath(directory, id))
    }

    private static func bytesPath(_ directory: String, _ id: String) -> String {
        StoredRecords.bytesPath(directory, id)
    }
}
