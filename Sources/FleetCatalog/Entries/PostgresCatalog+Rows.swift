import MediaCatalog
import PostgresNIO
import WeChatMedia

/// Rows as values: every column is checked as it comes in (a row no version writes is an
/// error, never a trap).
extension PostgresCatalog {
    static let entryColumns =
        "id, type, parent_id, name, state, media_id, format, size, created_at, mode, uid, gid, access_time, modification_time, change_time"

    static let mediaColumns = "row_id, media_id, type, size, content_type, created_at, first_seen"

    /// The columns of `entryColumns`, in order: decoded by position, since a lookup by name for
    /// every cell of a 10,000-row listing costs more than the query.
    private typealias EntryRow = (
        Int64, String, Int64, String, String, String?, String?, Int64, Int64?, Int64, Int64, Int64, Int64, Int64, Int64
    )

    static func entries(_ rows: PostgresRowSequence) async throws -> [CatalogEntry] {
        var entries: [CatalogEntry] = []
        for try await row in rows.decode(EntryRow.self) {
            let (
                id, type, parent, name, state, mediaID, format, size, created, mode, uid, gid, access, modified, changed
            ) =
                row
            guard let mediaType = MediaType(rawValue: type), let entryState = CatalogEntry.State(rawValue: state) else {
                throw CatalogError.malformedRow("entry of type \(type), state \(state)")
            }
            var entry = CatalogEntry(
                id: id, folder: CatalogFolder(type: mediaType, parentID: parent), name: name, state: entryState,
                mediaID: mediaID, size: size, createdAt: created, mode: UInt32(clamping: mode),
                uid: UInt32(clamping: uid), gid: UInt32(clamping: gid), accessTime: access, modificationTime: modified,
                changeTime: changed)
            if let format {
                guard let known = MediaFormat(rawValue: format) else {
                    throw CatalogError.malformedRow("entry of format \(format)")
                }
                entry.format = known
            }
            entries.append(entry)
        }
        return entries
    }

    static func media(_ rows: PostgresRowSequence) async throws -> [(rowID: Int64, media: KnownMedia)] {
        var found: [(rowID: Int64, media: KnownMedia)] = []
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let type = try cells["type"].decode(String?.self)
            let mediaType = try type.map { text -> MediaType in
                guard let known = MediaType(rawValue: text) else {
                    throw CatalogError.malformedRow("media of type \(text)")
                }
                return known
            }
            let media = KnownMedia(
                mediaID: try cells["media_id"].decode(String.self), type: mediaType,
                size: try cells["size"].decode(Int64?.self),
                contentType: try cells["content_type"].decode(String?.self),
                createdAt: try cells["created_at"].decode(Int64?.self),
                firstSeen: try cells["first_seen"].decode(Int64.self))
            found.append((rowID: try cells["row_id"].decode(Int64.self), media: media))
        }
        return found
    }

    static func location(type: String?, parentID: Int64?, name: String?) throws -> CatalogChange.Location? {
        guard let type, let parentID, let name else { return nil }
        guard let mediaType = MediaType(rawValue: type) else {
            throw CatalogError.malformedRow("change of type \(type)")
        }
        return CatalogChange.Location(folder: CatalogFolder(type: mediaType, parentID: parentID), name: name)
    }
}

extension Int64 {
    /// `self - other`, held at the type's bounds instead of trapping.
    func saturatingSubtract(_ other: Int64) -> Int64 {
        let (result, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return result }
        return other < 0 ? .max : .min
    }
}
