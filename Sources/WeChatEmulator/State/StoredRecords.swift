import Foundation

/// What the emulator keeps on disk as `ID.bin` (the bytes) and `ID.json` (the record, written
/// last): read back at start, a record counted only when its bytes are there too. Records
/// without bytes (drafts) are read with `requiringBytes` false.
enum StoredRecords {
    static func load<Record: Decodable>(
        _ type: Record.Type, in directory: String, requiringBytes: Bool = true, id: (Record) -> String
    ) throws -> [String: Record] {
        let decoder = JSONDecoder()
        var records: [String: Record] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".json") {
            let recordID = String(name.dropLast(5))
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                let record = try? decoder.decode(Record.self, from: data), id(record) == recordID,
                !requiringBytes || FileManager.default.fileExists(atPath: bytesPath(directory, recordID))
            else { continue }
            records[recordID] = record
        }
        return records
    }

    static func bytesPath(_ directory: String, _ id: String) -> String {
        directory + "/" + id + ".bin"
    }
}
