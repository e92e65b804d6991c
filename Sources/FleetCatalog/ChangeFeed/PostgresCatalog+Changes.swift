import MediaCatalog
import PostgresNIO

/// The change feed: every transaction that changes an entry writes change-log rows and
/// notifies the account's channel at commit. Hosts listen for the notice and read the log
/// past the last change they saw; they also read it every second, since a notice sent while
/// a host's listening connection was down is lost.
extension PostgresCatalog {
    static let pollInterval = Duration.seconds(1)

    /// The account's notification channel (its schema's name: an identifier already).
    var channel: String { configuration.schema }

    /// Writes `changes` to the log and notifies, inside the caller's transaction. The change
    /// counter is taken last, so its lock is held only for the end of the transaction.
    func recordChanges(_ changes: [CatalogChange], on connection: PostgresConnection) async throws {
        guard !changes.isEmpty else { return }
        let session = sessionID
        for change in changes {
            let now = change.location
            let before = change.previousLocation
            try await connection.query(
                """
                WITH next AS (UPDATE change_counter SET last = last + 1 RETURNING last)
                INSERT INTO change_log (id, session_id, entry_id, type, parent_id, name, old_type, old_parent_id, old_name)
                SELECT last, \(session), \(change.entryID), \(now?.folder.type.rawValue), \(now?.folder.parentID),
                    \(now?.name), \(before?.folder.type.rawValue), \(before?.folder.parentID), \(before?.name) FROM next
                """, logger: logger
            ).drain()
        }
        try await connection.query("SELECT pg_notify(\(channel), '')", logger: logger).drain()
    }

    /// Holds a connection listening on the channel, and wakes the poller for each notice;
    /// listens again after any failure (a restarted server, a terminated backend).
    func listenForChanges() async {
        while !Task.isCancelled {
            do {
                try await client.withOpenConnection { connection in
                    try await connection.listen(on: self.channel) { notices in
                        // Anything committed while this connection was away is read now.
                        self.wake.yield()
                        for try await _ in notices { self.wake.yield() }
                    }
                }
            } catch {
                guard !Task.isCancelled else { return }
                logger.debug("catalog change listener: \(Self.describe(error)); listening again")
                // The listening connection is the first to know the server went: a probe says
                // whether it is away, so calls answer from the last view at once, not a timeout later.
                if await !probe() { noteUnreachable("the server closed the connection and does not answer") }
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
    }

    /// Wakes `pollChanges` every `pollInterval`: a notice sent while no connection listened is
    /// lost, the change log is not.
    func tickChangePolls() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.pollInterval)
            wake.yield()
        }
    }

    /// Reads the change log whenever woken (by a notice or by `tickChangePolls`).
    func pollChanges(woken wakes: AsyncStream<Void>) async {
        for await _ in wakes {
            guard !Task.isCancelled else { return }
            do {
                try await readChanges()
            } catch {
                // `call` said it; the next tick reads again from the same place.
            }
        }
    }

    /// Passes on what other sessions changed since the last change seen.
    private func readChanges() async throws {
        while true {
            let (last, session) = state.withLock { ($0.lastChange, $0.sessionID) }
            let found = try await call("reading changes") { connection in
                let rows = try await connection.query(
                    """
                    SELECT id, session_id, entry_id, type, parent_id, name, old_type, old_parent_id, old_name
                    FROM change_log WHERE id > \(last) ORDER BY id LIMIT 500
                    """, logger: self.logger)
                var found: [(id: Int64, session: Int64?, change: CatalogChange)] = []
                for try await (id, writer, entry, type, parent, name, oldType, oldParent, oldName) in rows.decode(
                    (Int64, Int64?, Int64, String?, Int64?, String?, String?, Int64?, String?).self)
                {
                    let change = CatalogChange(
                        entryID: entry, location: try Self.location(type: type, parentID: parent, name: name),
                        previousLocation: try Self.location(type: oldType, parentID: oldParent, name: oldName))
                    found.append((id, writer, change))
                }
                return found
            }
            guard let newest = found.last?.id else { return }
            state.withLock { $0.lastChange = max($0.lastChange, newest) }
            for item in found where item.session != session {
                cache.invalidate(item.change)
                lastView.forget(item.change)
                // Its folders' times changed with it.
                for location in [item.change.location, item.change.previousLocation].compactMap({ $0 }) {
                    if location.folder.isTopLevel {
                        forgetTopFolderTimes(location.folder)
                    } else {
                        cache.invalidate(id: location.folder.parentID)
                    }
                }
                changeSink.yield(item.change)
            }
            if found.count < 500 { return }
        }
    }
}
