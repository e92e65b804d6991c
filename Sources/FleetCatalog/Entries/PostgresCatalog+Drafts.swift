import Foundation
import MediaCatalog
import PostgresNIO

/// The article folders of `/drafts/` and `/published/`, shared by the fleet: the folders, their
/// files and the files' bytes (`draft_bytes`, so a host builds, reads or edits what another
/// wrote), the day's publishing polls, and which host builds a folder (`builder_session`).
/// Not in the change feed and not cached: each read asks the database.
extension PostgresCatalog: DraftCatalog, SharedDraftBytes {
    static let draftFolderColumns = """
        id, location, name, origin, state, draft_id, error, error_code, waiting_for, built_articles, publish_id,
        publish_status, article_id, article_urls, next_poll_at, polls, update_time, mode, uid, gid,
        modification_time, change_time
        """

    static let draftFileColumns =
        "id, folder_id, name, size, content_hash, mode, uid, gid, access_time, modification_time, change_time"

    // MARK: Folders

    public func draftFolder(id: Int64) async throws -> DraftFolder? {
        try await rows(
            "draft folder \(id)", "SELECT \(unescaped: Self.draftFolderColumns) FROM draft_folder WHERE id = \(id)",
            Self.draftFolders
        ).first
    }

    public func draftFolder(in location: DraftFolder.Location, named name: String) async throws -> DraftFolder? {
        try await rows(
            "draft folder \(name)",
            """
            SELECT \(unescaped: Self.draftFolderColumns) FROM draft_folder
            WHERE location = \(location.rawValue) AND name = \(name)
            """, Self.draftFolders
        ).first
    }

    public func draftFolders(in location: DraftFolder.Location) async throws -> [DraftFolder] {
        try await rows(
            "draft folders of \(location.rawValue)",
            """
            SELECT \(unescaped: Self.draftFolderColumns) FROM draft_folder
            WHERE location = \(location.rawValue) ORDER BY id
            """, Self.draftFolders)
    }

    public func draftFolders(in state: DraftFolder.State) async throws -> [DraftFolder] {
        try await rows(
            "draft folders \(state.rawValue)",
            "SELECT \(unescaped: Self.draftFolderColumns) FROM draft_folder WHERE state = \(state.rawValue) ORDER BY id",
            Self.draftFolders)
    }

    /// Runs `query` (every value in it bound) and makes its rows values with `decode`.
    private func rows<Row: Sendable>(
        _ what: String, _ query: PostgresQuery,
        _ decode: @escaping @Sendable (PostgresRowSequence) async throws -> [Row]
    ) async throws -> [Row] {
        let logger = self.logger
        return try await call(what) { connection in try await decode(try await connection.query(query, logger: logger))
        }
    }

    public func insertDraftFolder(_ folder: DraftFolder) async throws -> DraftFolder {
        let logger = self.logger
        let id = try await newID(from: draftFolderIDs)
        try await call("insert draft folder \(folder.name)") { connection, mayHaveCommitted in
            // The id is this insert's alone: a row with it is this insert's, committed.
            if mayHaveCommitted, try await Self.exists(id, in: .draftFolder, on: connection, logger: logger) { return }
            try await connection.query(
                """
                INSERT INTO draft_folder (id, location, name, origin, state, draft_id, error, error_code, waiting_for,
                    built_articles, publish_id, publish_status, article_id, article_urls, next_poll_at, polls,
                    update_time, mode, uid, gid, modification_time, change_time)
                VALUES (\(id), \(folder.location.rawValue), \(folder.name), \(folder.origin.rawValue),
                    \(folder.state.rawValue), \(folder.draftID), \(folder.error), \(folder.errorCode.map(Int64.init)),
                    \(folder.waitingFor), \(folder.builtArticles), \(folder.publishID),
                    \(folder.publishStatus.map(Int64.init)), \(folder.articleID), \(folder.articleURLs),
                    \(folder.nextPollAt), \(Int64(folder.polls)), \(folder.updateTime), \(Int64(folder.mode)),
                    \(Int64(folder.uid)), \(Int64(folder.gid)), \(folder.modificationTime), \(folder.changeTime))
                """, logger: logger
            ).drain()
        }
        var inserted = folder
        inserted.id = id
        return inserted
    }

    public func updateDraftFolder(_ folder: DraftFolder) async throws {
        guard let id = folder.id else { throw CatalogError.entryGone }
        let logger = self.logger
        let found = try await call("update draft folder \(folder.name)") { connection in
            let rows = try await connection.query(
                """
                UPDATE draft_folder SET origin = \(folder.origin.rawValue), state = \(folder.state.rawValue),
                    draft_id = \(folder.draftID), error = \(folder.error), error_code = \(folder.errorCode.map(Int64.init)),
                    waiting_for = \(folder.waitingFor), built_articles = \(folder.builtArticles),
                    publish_id = \(folder.publishID), publish_status = \(folder.publishStatus.map(Int64.init)),
                    article_id = \(folder.articleID), article_urls = \(folder.articleURLs),
                    next_poll_at = \(folder.nextPollAt), polls = \(Int64(folder.polls)),
                    update_time = \(folder.updateTime), mode = \(Int64(folder.mode)), uid = \(Int64(folder.uid)),
                    gid = \(Int64(folder.gid)), modification_time = \(folder.modificationTime),
                    change_time = \(folder.changeTime)
                WHERE id = \(id) RETURNING id
                """, logger: logger)
            var found = false
            for try await _ in rows.decode(Int64.self) { found = true }
            return found
        }
        guard found else { throw CatalogError.entryGone }
    }

    public func moveDraftFolder(id: Int64, to location: DraftFolder.Location, named name: String) async throws {
        let logger = self.logger
        let moved = try await call("move draft folder \(id) to \(name)") { connection in
            let rows = try await connection.query(
                "UPDATE draft_folder SET location = \(location.rawValue), name = \(name) WHERE id = \(id) RETURNING id",
                logger: logger)
            var moved = false
            for try await _ in rows.decode(Int64.self) { moved = true }
            return moved
        }
        guard moved else { throw CatalogError.notThere }
    }

    public func deleteDraftFolder(id: Int64) async throws -> [DraftFile] {
        // A transaction, not a lone DELETE: one that committed before its connection was lost
        // would, run again, return no files, and the caller would keep their bytes.
        try await transaction("delete draft folder \(id)") { connection in
            let rows = try await connection.query(
                "DELETE FROM draft_file WHERE folder_id = \(id) RETURNING \(unescaped: Self.draftFileColumns)",
                logger: self.logger)
            let files = try await Self.draftFiles(rows)
            try await connection.query("DELETE FROM draft_folder WHERE id = \(id)", logger: self.logger).drain()
            return files
        }
    }

    // MARK: Files

    public func draftFile(id: Int64) async throws -> DraftFile? {
        try await rows(
            "draft file \(id)", "SELECT \(unescaped: Self.draftFileColumns) FROM draft_file WHERE id = \(id)",
            Self.draftFiles
        ).first
    }

    public func draftFile(in folderID: Int64, named name: String) async throws -> DraftFile? {
        try await rows(
            "draft file \(name)",
            """
            SELECT \(unescaped: Self.draftFileColumns) FROM draft_file
            WHERE folder_id = \(folderID) AND name = \(name)
            """, Self.draftFiles
        ).first
    }

    public func draftFiles(in folderID: Int64) async throws -> [DraftFile] {
        try await rows(
            "files of draft folder \(folderID)",
            "SELECT \(unescaped: Self.draftFileColumns) FROM draft_file WHERE folder_id = \(folderID) ORDER BY id",
            Self.draftFiles)
    }

    public func insertDraftFile(_ file: DraftFile) async throws -> DraftFile {
        let logger = self.logger
        let id = try await newID(from: draftFileIDs)
        try await call("insert draft file \(file.name)", conflict: .folderGone) { connection, mayHaveCommitted in
            if mayHaveCommitted, try await Self.exists(id, in: .draftFile, on: connection, logger: logger) { return }
            try await connection.query(
                """
                INSERT INTO draft_file (id, folder_id, name, size, content_hash, mode, uid, gid, access_time,
                    modification_time, change_time)
                VALUES (\(id), \(file.folderID), \(file.name), \(file.size), \(file.contentHash), \(Int64(file.mode)),
                    \(Int64(file.uid)), \(Int64(file.gid)), \(file.accessTime), \(file.modificationTime),
                    \(file.changeTime))
                """, logger: logger
            ).drain()
        }
        var inserted = file
        inserted.id = id
        return inserted
    }

    public func updateDraftFile(_ file: DraftFile) async throws {
        guard let id = file.id else { throw CatalogError.entryGone }
        let logger = self.logger
        let found = try await call("update draft file \(file.name)") { connection in
            let rows = try await connection.query(
                """
                UPDATE draft_file SET size = \(file.size), content_hash = \(file.contentHash),
                    mode = \(Int64(file.mode)), uid = \(Int64(file.uid)), gid = \(Int64(file.gid)),
                    access_time = \(file.accessTime), modification_time = \(file.modificationTime),
                    change_time = \(file.changeTime)
                WHERE id = \(id) RETURNING id
                """, logger: logger)
            var found = false
            for try await _ in rows.decode(Int64.self) { found = true }
            return found
        }
        guard found else { throw CatalogError.entryGone }
    }

    public func deleteDraftFile(id: Int64) async throws {
        try await call("delete draft file \(id)") { connection in
            try await connection.query("DELETE FROM draft_file WHERE id = \(id)", logger: self.logger).drain()
        }
    }

    public func renameDraftFile(id: Int64, to name: String, replacing: Int64?) async throws {
        try await transaction("rename draft file to \(name)") { connection in
            if let replacing {
                // Only while it still holds the name in the renamed file's folder.
                try await connection.query(
                    """
                    DELETE FROM draft_file WHERE id = \(replacing) AND id <> \(id) AND name = \(name)
                    AND folder_id = (SELECT folder_id FROM draft_file WHERE id = \(id))
                    """, logger: self.logger
                ).drain()
            }
            let rows = try await connection.query(
                "UPDATE draft_file SET name = \(name) WHERE id = \(id) RETURNING id", logger: self.logger)
            var renamed = false
            for try await _ in rows.decode(Int64.self) { renamed = true }
            guard renamed else { throw CatalogError.notThere }
        }
    }

    // MARK: Bytes

    public func storeDraftBytes(fileID: Int64, contentHash: String, bytes: [UInt8]) async throws {
        let data = Data(bytes)
        try await call("bytes of draft file \(fileID)", conflict: .entryGone) { connection in
            try await connection.query(
                """
                INSERT INTO draft_bytes (file_id, content_hash, bytes) VALUES (\(fileID), \(contentHash), \(data))
                ON CONFLICT (file_id) DO UPDATE SET content_hash = excluded.content_hash, bytes = excluded.bytes
                """, logger: self.logger
            ).drain()
        }
    }

    public func draftBytes(fileID: Int64, contentHash: String) async throws -> [UInt8]? {
        try await call("bytes of draft file \(fileID)") { connection in
            let rows = try await connection.query(
                "SELECT bytes FROM draft_bytes WHERE file_id = \(fileID) AND content_hash = \(contentHash)",
                logger: self.logger)
            var bytes: [UInt8]?
            for try await data in rows.decode(Data.self) { bytes = Array(data) }
            return bytes
        }
    }

    // MARK: Publishing polls and builds

    public func spendPublishPoll(day: Int64, budget: Int) async throws -> Bool {
        // One statement: the day's row made and counted at once, never past the budget by two
        // hosts spending together (the row's lock orders them).
        try await call("publishing poll of day \(day)") { connection in
            let rows = try await connection.query(
                """
                INSERT INTO publish_poll AS poll (day, spent) SELECT \(day), 1 WHERE \(Int64(budget)) > 0
                ON CONFLICT (day) DO UPDATE SET spent = poll.spent + 1 WHERE poll.spent < \(Int64(budget))
                RETURNING spent
                """, logger: self.logger)
            var spent = false
            for try await _ in rows.decode(Int64.self) { spent = true }
            return spent
        }
    }

    public func publishPollsSpent(day: Int64) async throws -> Int {
        try await call("publishing polls of day \(day)") { connection in
            let rows = try await connection.query(
                "SELECT spent FROM publish_poll WHERE day = \(day)", logger: self.logger)
            var spent = 0
            for try await value in rows.decode(Int64.self) { spent = Int(clamping: value) }
            return spent
        }
    }

    public func claimPublishPoll(id: Int64, due: Int64?, next: Int64) async throws -> Bool {
        try await call("claiming the publishing poll of draft folder \(id)") { connection in
            let rows = try await connection.query(
                """
                UPDATE draft_folder SET next_poll_at = \(next)
                WHERE id = \(id) AND state = 'publishing' AND next_poll_at IS NOT DISTINCT FROM \(due) RETURNING id
                """, logger: self.logger)
            var claimed = false
            for try await _ in rows.decode(Int64.self) { claimed = true }
            return claimed
        }
    }

    /// A folder another live session builds is not this host's to build; one whose builder's
    /// session is gone (reaped) is.
    public func claimDraftBuild(id: Int64) async throws -> Bool {
        let session = sessionID
        return try await call("claiming the build of draft folder \(id)") { connection in
            let rows = try await connection.query(
                """
                UPDATE draft_folder SET builder_session = \(session)
                WHERE id = \(id) AND (builder_session IS NULL OR builder_session = \(session)
                    OR builder_session NOT IN (SELECT id FROM host_session))
                RETURNING id
                """, logger: self.logger)
            var claimed = false
            for try await _ in rows.decode(Int64.self) { claimed = true }
            return claimed
        }
    }

    public func endDraftBuild(id: Int64) async throws {
        let session = sessionID
        try await call("ending the build of draft folder \(id)") { connection in
            try await connection.query(
                "UPDATE draft_folder SET builder_session = NULL WHERE id = \(id) AND builder_session = \(session)",
                logger: self.logger
            ).drain()
        }
    }

    // MARK: Rows

    /// Rows as values, every column checked: a location, origin or state no version writes, or
    /// a number out of range, is a malformed row, never a trap.
    static func draftFolders(_ rows: PostgresRowSequence) async throws -> [DraftFolder] {
        var folders: [DraftFolder] = []
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let id = try cells["id"].decode(Int64.self)
            guard let location = DraftFolder.Location(rawValue: try cells["location"].decode(String.self)),
                let origin = DraftFolder.Origin(rawValue: try cells["origin"].decode(String.self)),
                let state = DraftFolder.State(rawValue: try cells["state"].decode(String.self)),
                let mode = UInt32(exactly: try cells["mode"].decode(Int64.self)),
                let uid = UInt32(exactly: try cells["uid"].decode(Int64.self)),
                let gid = UInt32(exactly: try cells["gid"].decode(Int64.self))
            else { throw CatalogError.malformedRow("draft folder \(id)") }
            var folder = DraftFolder(
                id: id, location: location, name: try cells["name"].decode(String.self), origin: origin, state: state,
                mode: mode, uid: uid, gid: gid, time: try cells["modification_time"].decode(Int64.self))
            folder.changeTime = try cells["change_time"].decode(Int64.self)
            folder.draftID = try cells["draft_id"].decode(String?.self)
            folder.error = try cells["error"].decode(String?.self)
            folder.errorCode = try cells["error_code"].decode(Int64?.self).flatMap { Int32(exactly: $0) }
            folder.waitingFor = try cells["waiting_for"].decode(String?.self)
            folder.builtArticles = try cells["built_articles"].decode(String?.self)
            folder.publishID = try cells["publish_id"].decode(String?.self)
            folder.publishStatus = try cells["publish_status"].decode(Int64?.self).flatMap { Int(exactly: $0) }
            folder.articleID = try cells["article_id"].decode(String?.self)
            folder.articleURLs = try cells["article_urls"].decode(String?.self)
            folder.nextPollAt = try cells["next_poll_at"].decode(Int64?.self)
            folder.polls = Int(clamping: try cells["polls"].decode(Int64.self))
            folder.updateTime = try cells["update_time"].decode(Int64?.self)
            folders.append(folder)
        }
        return folders
    }

    static func draftFiles(_ rows: PostgresRowSequence) async throws -> [DraftFile] {
        var files: [DraftFile] = []
        for try await row in rows {
            let cells = row.makeRandomAccess()
            let id = try cells["id"].decode(Int64.self)
            guard let mode = UInt32(exactly: try cells["mode"].decode(Int64.self)),
                let uid = UInt32(exactly: try cells["uid"].decode(Int64.self)),
                let gid = UInt32(exactly: try cells["gid"].decode(Int64.self))
            else { throw CatalogError.malformedRow("draft file \(id)") }
            var file = DraftFile(
                id: id, folderID: try cells["folder_id"].decode(Int64.self),
                name: try cells["name"].decode(String.self),
                size: try cells["size"].decode(Int64.self), contentHash: try cells["content_hash"].decode(String?.self),
                mode: mode, uid: uid, gid: gid, time: try cells["change_time"].decode(Int64.self))
            file.accessTime = try cells["access_time"].decode(Int64.self)
            file.modificationTime = try cells["modification_time"].decode(Int64.self)
            files.append(file)
        }
        return files
    }
}
