import Foundation

/// The one JSON encoding of what the daemon says to others and keeps on disk: the status and
/// sync sockets' answers and the queue's failure records. Dates are ISO 8601, keys sorted, so a
/// document reads the same whichever side wrote it and a script can parse it.
public enum WireFormat {
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(value))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(bytes))
    }
}
