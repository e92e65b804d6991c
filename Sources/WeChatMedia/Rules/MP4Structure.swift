/// Checks that an MP4 (ISO BMFF) file is whole: its top-level boxes start with `ftyp`, tile the
/// file exactly, and include a `moov` (without which nothing can play it).
public enum MP4Structure {
    public enum Failure: Error, Equatable {
        case notMP4
        case truncated(boxAt: Int)
        case badBox(at: Int)
        case missingMovie
    }

    public static func validate(_ source: inout some ByteSource) throws {
        var position = 0
        var sawMovie = false
        var index = 0
        while position < source.count {
            guard let header = try source.exactly(at: position, length: 8) else {
                throw Failure.truncated(boxAt: position)
            }
            let h = Array(header)
            var size = h[0..<4].reduce(0) { ($0 << 8) | Int($1) }
            let kind = String(decoding: h[4..<8], as: UTF8.self)
            if index == 0, kind != "ftyp" { throw Failure.notMP4 }
            if size == 1 {
                guard let large = try source.exactly(at: position + 8, length: 8) else {
                    throw Failure.truncated(boxAt: position)
                }
                let value = large.reduce(UInt64(0)) { ($0 << 8) | UInt64($1) }
                guard value <= UInt64(Int.max) else { throw Failure.badBox(at: position) }
                size = Int(value)
                guard size >= 16 else { throw Failure.badBox(at: position) }
            } else if size == 0 {
                size = source.count - position
            } else if size < 8 {
                throw Failure.badBox(at: position)
            }
            guard size <= source.count - position else { throw Failure.truncated(boxAt: position) }
            if kind == "moov" { sawMovie = true }
            position += size
            index += 1
        }
        guard index > 0 else { throw Failure.notMP4 }
        guard sawMovie else { throw Failure.missingMovie }
    }
}
