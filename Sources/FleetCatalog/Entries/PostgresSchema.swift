import Logging
import MediaCatalog
import PostgresNIO

/// The fleet catalog's tables, in one PostgreSQL schema per account, created and migrated by the
/// first host that connects. Hosts starting at once take turns on an advisory lock, so only one
/// migrates; `schema_version` says how far.
enum PostgresSchema {
    /// Each migration's statements, in order; a migration is never edited once shipped.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE entry (
                id bigserial PRIMARY KEY,
                type text NOT NULL,
                parent_id bigint NOT NULL,
                name text NOT NULL,
                state text NOT NULL,
                media_id text,
                format text,
                size bigint NOT NULL,
                created_at bigint,
                mode bigint NOT NULL,
                uid bigint NOT NULL,
                gid bigint NOT NULL,
                access_time bigint NOT NULL,
                modification_time bigint NOT NULL,
                change_time bigint NOT NULL,
                writer_session bigint,
                UNIQUE (type, parent_id, name))
            """,
            "CREATE INDEX entry_on_media_id ON entry (media_id)",
            "CREATE INDEX entry_on_created_at ON entry (created_at)",
            "CREATE INDEX entry_being_written ON entry (writer_session) WHERE state = 'writing'",
            """
            CREATE TABLE known_media (
                row_id bigserial UNIQUE NOT NULL,
                media_id text PRIMARY KEY,
                type text,
                size bigint,
                content_type text,
                created_at bigint,
                first_seen bigint NOT NULL,
                purged_at bigint)
            """,
            "CREATE INDEX known_media_on_born_at ON known_media ((COALESCE(created_at, first_seen)))",
            """
            CREATE TABLE xattr (
                entry_id bigint NOT NULL REFERENCES entry (id) ON DELETE CASCADE,
                name text NOT NULL,
                value bytea NOT NULL,
                PRIMARY KEY (entry_id, name))
            """,
            // A mount is a session; a session whose heartbeat stops is dead, and what it was writing goes.
            """
            CREATE TABLE host_session (
                id bigserial PRIMARY KEY,
                host_key text NOT NULL,
                pid integer NOT NULL,
                started_at timestamptz NOT NULL DEFAULT now(),
                heartbeat_at timestamptz NOT NULL DEFAULT now())
            """,
            // Change ids come from one row, taken under its lock until commit: they commit in
            // order, so a host reading "id > last seen" never skips one that commits late.
            "CREATE TABLE change_counter (last bigint NOT NULL)",
            "INSERT INTO change_counter VALUES (0)",
            """
            CREATE TABLE change_log (
                id bigint PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                session_id bigint,
                entry_id bigint NOT NULL,
                type text,
                parent_id bigint,
                name text,
                old_type text,
                old_parent_id bigint,
                old_name text)
            """,
            "CREATE INDEX change_log_on_at ON change_log (at)",
        ],
        // The fleet's one access token and its upload pause (45009).
        PostgresTokenStore.schema + PostgresUploadPause.schema,
        // The database enforces the tree: every entry's folder exists (a row 0 stands for the
        // upload folders themselves), so a create racing an rmdir on another host cannot leave
        // a name in no folder. Rows an older version left in no folder move to the top,
        // renamed, rather than being dropped.
        [
            """
            UPDATE entry SET parent_id = 0, name = name || '.orphan-' || id
            WHERE parent_id <> 0 AND parent_id NOT IN (SELECT id FROM entry)
            """,
            """
            INSERT INTO entry (id, type, parent_id, name, state, size, mode, uid, gid, access_time,
                modification_time, change_time)
            VALUES (0, 'root', 0, '', 'directory', 0, 0, 0, 0, 0, 0, 0)
            """,
            "CREATE INDEX entry_on_parent ON entry (parent_id)",
            "ALTER TABLE entry ADD CONSTRAINT entry_in_a_folder FOREIGN KEY (parent_id) REFERENCES entry (id)",
            // Which host holds a row being written or queued: named in listings once it stops.
            "ALTER TABLE entry ADD COLUMN writer_host text",
            // Settings the shared rows depend on (the media TTL the sweep applies): the fleet's.
            "CREATE TABLE fleet_setting (name text PRIMARY KEY, value text NOT NULL)",
            // The upload folders' own times, which change when a name in them does.
            """
            CREATE TABLE folder_time (
                type text PRIMARY KEY, modification_time bigint NOT NULL, change_time bigint NOT NULL)
            """,
        ],
        // The names of /material/: kept for good (nothing expires, no subfolders), outside the change
        // feed. A row being written holds its writer's session, as an entry's does.
        [
            """
            CREATE TABLE material (
                id bigserial PRIMARY KEY,
                folder text NOT NULL,
                name text NOT NULL,
                state text NOT NULL,
                media_id text,
                url text,
                content_hash text,
                size bigint NOT NULL,
                update_time bigint,
                mode bigint NOT NULL,
                uid bigint NOT NULL,
                gid bigint NOT NULL,
                access_time bigint NOT NULL,
                modification_time bigint NOT NULL,
                change_time bigint NOT NULL,
                writer_session bigint,
                UNIQUE (folder, name))
            """,
            "CREATE INDEX material_on_media_id ON material (folder, media_id)",
            "CREATE INDEX material_on_content_hash ON material (folder, content_hash)",
        ],
        // Material queued in background mode, as entries are: which host holds it, named once it stops.
        ["ALTER TABLE material ADD COLUMN writer_host text"],
        // Article folders (/drafts/, /published/), their files with their bytes (any host builds,
        // reads or edits what another wrote), and the fleet's publishing polls per day. A folder
        // being built holds its builder's session.
        [
            """
            CREATE TABLE draft_folder (
                id bigserial PRIMARY KEY,
                location text NOT NULL,
                name text NOT NULL,
                origin text NOT NULL,
                state text NOT NULL,
                draft_id text,
                error text,
                error_code bigint,
                waiting_for text,
                built_articles text,
                publish_id text,
                publish_status bigint,
                article_id text,
                article_urls text,
                next_poll_at bigint,
                polls bigint NOT NULL,
                update_time bigint,
                mode bigint NOT NULL,
                uid bigint NOT NULL,
                gid bigint NOT NULL,
                modification_time bigint NOT NULL,
                change_time bigint NOT NULL,
                builder_session bigint,
                UNIQUE (location, name))
            """,
            "CREATE INDEX draft_folder_on_state ON draft_folder (state)",
            """
            CREATE TABLE draft_file (
                id bigserial PRIMARY KEY,
                folder_id bigint NOT NULL REFERENCES draft_folder (id) ON DELETE CASCADE,
                name text NOT NULL,
                size bigint NOT NULL,
                content_hash text,
                mode bigint NOT NULL,
                uid bigint NOT NULL,
                gid bigint NOT NULL,
                access_time bigint NOT NULL,
                modification_time bigint NOT NULL,
                change_time bigint NOT NULL,
                UNIQUE (folder_id, name))
            """,
            """
            CREATE TABLE draft_bytes (
                file_id bigint PRIMARY KEY REFERENCES draft_file (id) ON DELETE CASCADE,
                content_hash text NOT NULL,
                bytes bytea NOT NULL)
            """,
            "CREATE TABLE publish_poll (day bigint PRIMARY KEY, spent bigint NOT NULL)",
        ],
    ]

    /// Creates `schema` if needed and brings it to the latest version, under the migration lock.
    static func migrate(on connection: PostgresConnection, schema: String, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('wxmediafs.migrate'))", logger: logger)
                .drain()
            try await connection.query(
                PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger
            ).drain()
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "CREATE TABLE IF NOT EXISTS \(schema).schema_version (version integer NOT NULL)"),
                logger: logger
            ).drain()
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT COALESCE(MAX(version), 0) FROM \(schema).schema_version"),
                logger: logger)
            var current = 0
            for try await (version) in rows.decode(Int.self) { current = version }
            guard current < migrations.count else { return }
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(schema)"), logger: logger)
                .drain()
            for (index, statements) in migrations.enumerated() where index + 1 > current {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).drain()
                }
                try await connection.query("INSERT INTO schema_version VALUES (\(index + 1))", logger: logger).drain()
                logger.notice("catalog schema \(schema) migrated to version \(index + 1)")
            }
        }
    }
}
