/// The database schema as an ordered list of migrations. Migration `n` (1-based) moves `PRAGMA user_version`
/// from `n - 1` to `n`. Never edit a released migration; append a new one. docs/schema.md describes the result.
enum Schema {
    /// SQL for a fingerprint column's `fingerprint_key`: its first 16 hex digits (8 digest bytes) as a signed
    /// 64-bit integer, the same as `Int64(bitPattern: fingerprint.digestWords.0)`. Horner's rule from a signed
    /// first digit, so no intermediate value overflows.
    static func fingerprintKeySQL(_ column: String) -> String {
        func digit(_ position: Int) -> String { "(instr('0123456789abcdef', substr(\(column), \(position), 1)) - 1)" }
        var sql = "(\(digit(1)) - 16 * (\(digit(1)) >= 8))"
        for position in 2...16 { sql = "(\(sql) * 16 + \(digit(position)))" }
        return sql
    }

    static let migrations: [String] = [
        // 1: initial schema.
        """
        CREATE TABLE runs (
            id            INTEGER PRIMARY KEY,
            started_at    REAL    NOT NULL,
            finished_at   REAL,
            tool_version  TEXT    NOT NULL,
            arguments     TEXT    NOT NULL DEFAULT '[]',
            status        TEXT    NOT NULL DEFAULT 'running'
                          CHECK (status IN ('running', 'completed', 'interrupted', 'failed')),
            counters      TEXT    NOT NULL DEFAULT '{}'
        );

        CREATE TABLE sources (
            id                INTEGER PRIMARY KEY,
            path              TEXT    NOT NULL,
            size              INTEGER NOT NULL,
            head_fingerprint  TEXT    NOT NULL,
            compression       TEXT    NOT NULL DEFAULT 'none',
            format            TEXT    NOT NULL DEFAULT 'unknown',
            lines_total       INTEGER NOT NULL DEFAULT 0,
            lines_with_tokens INTEGER NOT NULL DEFAULT 0,
            lines_rejected    INTEGER NOT NULL DEFAULT 0,
            lines_committed   INTEGER NOT NULL DEFAULT 0,
            bytes_committed   INTEGER NOT NULL DEFAULT 0,
            first_time        REAL,
            last_time         REAL,
            status            TEXT    NOT NULL DEFAULT 'in-progress'
                              CHECK (status IN ('complete', 'partial', 'failed', 'in-progress')),
            error             TEXT,
            last_run_id       INTEGER REFERENCES runs(id)
        );
        CREATE INDEX sources_by_content ON sources(head_fingerprint, size);
        CREATE INDEX sources_by_path ON sources(path);

        CREATE TABLE tokens (
            fingerprint          TEXT PRIMARY KEY NOT NULL,
            kind                 TEXT NOT NULL,
            alg                  TEXT,
            kid                  TEXT,
            typ                  TEXT,
            iss                  TEXT,
            sub                  TEXT,
            aud                  TEXT,
            client_id            TEXT,
            jti                  TEXT,
            scope                TEXT,
            iat                  REAL,
            nbf                  REAL,
            exp                  REAL,
            header_json          TEXT,
            claims_json          TEXT,
            verification_status  TEXT NOT NULL,
            verification_detail  TEXT,
            key_id               TEXT,
            first_seen           REAL,
            last_seen            REAL,
            use_count            INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX tokens_by_sub ON tokens(sub);
        CREATE INDEX tokens_by_client_id ON tokens(client_id);
        CREATE INDEX tokens_by_jti ON tokens(jti);
        CREATE INDEX tokens_by_kid ON tokens(kid);
        CREATE INDEX tokens_by_iss ON tokens(iss);
        CREATE INDEX tokens_by_verification ON tokens(verification_status);

        CREATE TABLE usage (
            token_fingerprint TEXT    NOT NULL,
            client_ip         TEXT    NOT NULL DEFAULT '',
            method            TEXT    NOT NULL DEFAULT '',
            host              TEXT    NOT NULL DEFAULT '',
            path              TEXT    NOT NULL DEFAULT '',
            status            INTEGER NOT NULL DEFAULT 0,
            count             INTEGER NOT NULL,
            first_seen        REAL,
            last_seen         REAL,
            PRIMARY KEY (token_fingerprint, client_ip, method, host, path, status)
        ) WITHOUT ROWID;
        CREATE INDEX usage_by_ip ON usage(client_ip, last_seen);
        CREATE INDEX usage_by_time ON usage(last_seen, first_seen);

        CREATE TABLE findings (
            rule_id           TEXT    NOT NULL,
            token_fingerprint TEXT    NOT NULL,
            discriminator     TEXT    NOT NULL DEFAULT '',
            severity          INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 4),
            first_seen        REAL,
            last_seen         REAL,
            count             INTEGER NOT NULL,
            example_source    TEXT,
            example_line      INTEGER,
            example_time      REAL,
            status_codes      TEXT    NOT NULL DEFAULT '[]',
            evidence          TEXT    NOT NULL DEFAULT '{}',
            suppressed        INTEGER NOT NULL DEFAULT 0 CHECK (suppressed IN (0, 1)),
            PRIMARY KEY (rule_id, token_fingerprint, discriminator)
        ) WITHOUT ROWID;
        CREATE INDEX findings_by_severity ON findings(severity, last_seen);
        CREATE INDEX findings_by_time ON findings(last_seen, first_seen);
        CREATE INDEX findings_by_token ON findings(token_fingerprint);
        """,
        // 2: read-side views for incident and audit queries (docs/queries.md). No table changes.
        """
        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            f.token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f LEFT JOIN tokens AS t ON t.fingerprint = f.token_fingerprint;

        CREATE VIEW token_requests AS
        SELECT u.token_fingerprint, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid, t.verification_status,
            NULLIF(u.client_ip, '') AS client_ip, NULLIF(u.method, '') AS method, NULLIF(u.host, '') AS host,
            NULLIF(u.path, '') AS path, NULLIF(u.status, 0) AS status, u.count, u.first_seen, u.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.last_seen, 'unixepoch') AS last_seen_utc
        FROM usage AS u LEFT JOIN tokens AS t ON t.fingerprint = u.token_fingerprint;

        CREATE VIEW token_lifetimes AS
        SELECT fingerprint, kind, iss, sub, client_id, iat, nbf, exp,
            exp - coalesce(iat, nbf) AS lifetime_seconds, verification_status, first_seen, last_seen, use_count
        FROM tokens;
        """,
        // 3: request times for the cross-request rules (group M), per token × dimension × value × 10-minute
        // bucket: 'ip' rows hold the client IP, 'ua' rows the User-Agent. First and last time per bucket make
        // windows of at least one bucket exact (see AuditStore+CrossRequest.swift).
        """
        CREATE TABLE request_windows (
            token_fingerprint TEXT    NOT NULL,
            dimension         TEXT    NOT NULL CHECK (dimension IN ('ip', 'ua')),
            value             TEXT    NOT NULL,
            bucket            INTEGER NOT NULL,
            first_time        REAL    NOT NULL,
            last_time         REAL    NOT NULL,
            count             INTEGER NOT NULL,
            PRIMARY KEY (token_fingerprint, dimension, value, bucket)
        ) WITHOUT ROWID;
        CREATE INDEX request_windows_by_value ON request_windows(dimension, value);
        """,
        // 4: compact layout (issue 6). Tokens get an integer id (the hex fingerprint stays, only in `tokens`);
        // repeated strings (client IPs, methods, hosts, paths, User-Agents) go to the `strings` dictionary; usage
        // and request windows become integer-keyed tables (`usage_groups`, `request_buckets`) behind views with
        // the old names and columns, so every documented query keeps working. Indexes no reader needs are
        // dropped. Existing rows are copied; nothing a scan stored is lost.
        """
        DROP VIEW finding_details;
        DROP VIEW token_requests;
        DROP VIEW token_lifetimes;

        CREATE TABLE tokens_v4 (
            id                   INTEGER PRIMARY KEY,
            fingerprint          TEXT NOT NULL UNIQUE,
            kind                 TEXT NOT NULL,
            alg                  TEXT,
            kid                  TEXT,
            typ                  TEXT,
            iss                  TEXT,
            sub                  TEXT,
            aud                  TEXT,
            client_id            TEXT,
            jti                  TEXT,
            scope                TEXT,
            iat                  REAL,
            nbf                  REAL,
            exp                  REAL,
            header_json          TEXT,
            claims_json          TEXT,
            verification_status  TEXT NOT NULL,
            verification_detail  TEXT,
            key_id               TEXT,
            first_seen           REAL,
            last_seen            REAL,
            use_count            INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO tokens_v4 (fingerprint, kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat, nbf, exp,
            header_json, claims_json, verification_status, verification_detail, key_id, first_seen, last_seen, use_count)
        SELECT fingerprint, kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat, nbf, exp,
            header_json, claims_json, verification_status, verification_detail, key_id, first_seen, last_seen, use_count
        FROM tokens ORDER BY fingerprint;
        -- Usage and windows of a token without a row (never written by a scan): keep them reachable.
        INSERT INTO tokens_v4 (fingerprint, kind, verification_status)
        SELECT token_fingerprint, 'unknown', 'not-checked' FROM usage
        UNION SELECT token_fingerprint, 'unknown', 'not-checked' FROM request_windows
        EXCEPT SELECT fingerprint, 'unknown', 'not-checked' FROM tokens ORDER BY 1;

        CREATE TABLE strings (
            id     INTEGER PRIMARY KEY,
            value  TEXT NOT NULL UNIQUE
        );
        INSERT INTO strings (value)
        SELECT client_ip FROM usage UNION SELECT method FROM usage UNION SELECT host FROM usage
        UNION SELECT path FROM usage UNION SELECT value FROM request_windows ORDER BY 1;

        CREATE TABLE usage_groups (
            token_id      INTEGER NOT NULL,
            client_ip_id  INTEGER NOT NULL,
            method_id     INTEGER NOT NULL,
            host_id       INTEGER NOT NULL,
            path_id       INTEGER NOT NULL,
            status        INTEGER NOT NULL,
            count         INTEGER NOT NULL,
            first_seen    REAL,
            last_seen     REAL,
            PRIMARY KEY (token_id, client_ip_id, method_id, host_id, path_id, status)
        ) WITHOUT ROWID;
        INSERT INTO usage_groups
        SELECT t.id, ip.id, m.id, h.id, p.id, u.status, u.count, u.first_seen, u.last_seen
        FROM usage AS u JOIN tokens_v4 AS t ON t.fingerprint = u.token_fingerprint
            JOIN strings AS ip ON ip.value = u.client_ip JOIN strings AS m ON m.value = u.method
            JOIN strings AS h ON h.value = u.host JOIN strings AS p ON p.value = u.path;
        CREATE INDEX usage_groups_by_client_ip ON usage_groups(client_ip_id);

        CREATE TABLE request_buckets (
            token_id    INTEGER NOT NULL,
            dimension   INTEGER NOT NULL CHECK (dimension IN (0, 1)),
            value_id    INTEGER NOT NULL,
            bucket      INTEGER NOT NULL,
            first_time  REAL    NOT NULL,
            last_time   REAL    NOT NULL,
            count       INTEGER NOT NULL,
            PRIMARY KEY (token_id, dimension, value_id, bucket)
        ) WITHOUT ROWID;
        INSERT INTO request_buckets
        SELECT t.id, CASE w.dimension WHEN 'ip' THEN 0 ELSE 1 END, s.id, w.bucket, w.first_time, w.last_time, w.count
        FROM request_windows AS w JOIN tokens_v4 AS t ON t.fingerprint = w.token_fingerprint
            JOIN strings AS s ON s.value = w.value;

        DROP TABLE usage;
        DROP TABLE request_windows;
        DROP TABLE tokens;
        ALTER TABLE tokens_v4 RENAME TO tokens;
        CREATE INDEX tokens_by_sub ON tokens(sub);
        CREATE INDEX tokens_by_jti ON tokens(jti);

        DROP INDEX findings_by_severity;
        DROP INDEX findings_by_time;

        CREATE VIEW usage AS
        SELECT t.fingerprint AS token_fingerprint, ip.value AS client_ip, m.value AS method, h.value AS host,
            p.value AS path, g.status, g.count, g.first_seen, g.last_seen
        FROM usage_groups AS g JOIN tokens AS t ON t.id = g.token_id
            JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
            JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id;

        CREATE VIEW request_windows AS
        SELECT t.fingerprint AS token_fingerprint, CASE b.dimension WHEN 0 THEN 'ip' ELSE 'ua' END AS dimension,
            s.value, b.bucket, b.first_time, b.last_time, b.count
        FROM request_buckets AS b JOIN tokens AS t ON t.id = b.token_id JOIN strings AS s ON s.id = b.value_id;

        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            f.token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f LEFT JOIN tokens AS t ON t.fingerprint = f.token_fingerprint;

        CREATE VIEW token_requests AS
        SELECT u.token_fingerprint, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid, t.verification_status,
            NULLIF(u.client_ip, '') AS client_ip, NULLIF(u.method, '') AS method, NULLIF(u.host, '') AS host,
            NULLIF(u.path, '') AS path, NULLIF(u.status, 0) AS status, u.count, u.first_seen, u.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.last_seen, 'unixepoch') AS last_seen_utc
        FROM usage AS u LEFT JOIN tokens AS t ON t.fingerprint = u.token_fingerprint;

        CREATE VIEW token_lifetimes AS
        SELECT fingerprint, kind, iss, sub, client_id, iat, nbf, exp,
            exp - coalesce(iat, nbf) AS lifetime_seconds, verification_status, first_seen, last_seen, use_count
        FROM tokens;
        """,
        // 5: narrow token sightings (issue 6). A token's first/last seen and use count change with nearly every
        // batch, and updating them in the ~600-byte token row made every transaction rewrite (and write to the
        // WAL) the pages of every live token. They move to `token_sightings` (~30 bytes a row); `tokens` becomes
        // a view with the same columns in the same order, so every reader and documented query is unchanged.
        // The analysis lives in `token_records`.
        """
        DROP VIEW usage;
        DROP VIEW request_windows;
        DROP VIEW finding_details;
        DROP VIEW token_requests;
        DROP VIEW token_lifetimes;

        CREATE TABLE token_sightings (
            token_id    INTEGER PRIMARY KEY,
            first_seen  REAL,
            last_seen   REAL,
            use_count   INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO token_sightings (token_id, first_seen, last_seen, use_count)
        SELECT id, first_seen, last_seen, use_count FROM tokens ORDER BY id;

        ALTER TABLE tokens RENAME TO token_records;
        ALTER TABLE token_records DROP COLUMN first_seen;
        ALTER TABLE token_records DROP COLUMN last_seen;
        ALTER TABLE token_records DROP COLUMN use_count;

        CREATE VIEW tokens AS
        SELECT r.id, r.fingerprint, r.kind, r.alg, r.kid, r.typ, r.iss, r.sub, r.aud, r.client_id, r.jti, r.scope,
            r.iat, r.nbf, r.exp, r.header_json, r.claims_json, r.verification_status, r.verification_detail,
            r.key_id, s.first_seen, s.last_seen, ifnull(s.use_count, 0) AS use_count
        FROM token_records AS r LEFT JOIN token_sightings AS s ON s.token_id = r.id;

        CREATE VIEW usage AS
        SELECT t.fingerprint AS token_fingerprint, ip.value AS client_ip, m.value AS method, h.value AS host,
            p.value AS path, g.status, g.count, g.first_seen, g.last_seen
        FROM usage_groups AS g JOIN token_records AS t ON t.id = g.token_id
            JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
            JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id;

        CREATE VIEW request_windows AS
        SELECT t.fingerprint AS token_fingerprint, CASE b.dimension WHEN 0 THEN 'ip' ELSE 'ua' END AS dimension,
            s.value, b.bucket, b.first_time, b.last_time, b.count
        FROM request_buckets AS b JOIN token_records AS t ON t.id = b.token_id JOIN strings AS s ON s.id = b.value_id;

        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            f.token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f LEFT JOIN token_records AS t ON t.fingerprint = f.token_fingerprint;

        CREATE VIEW token_requests AS
        SELECT u.token_fingerprint, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid, t.verification_status,
            NULLIF(u.client_ip, '') AS client_ip, NULLIF(u.method, '') AS method, NULLIF(u.host, '') AS host,
            NULLIF(u.path, '') AS path, NULLIF(u.status, 0) AS status, u.count, u.first_seen, u.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.last_seen, 'unixepoch') AS last_seen_utc
        FROM usage AS u LEFT JOIN token_records AS t ON t.fingerprint = u.token_fingerprint;

        CREATE VIEW token_lifetimes AS
        SELECT fingerprint, kind, iss, sub, client_id, iat, nbf, exp,
            exp - coalesce(iat, nbf) AS lifetime_seconds, verification_status, first_seen, last_seen, use_count
        FROM tokens;
        """,
        // 6: a compact token lookup key (issue 6). Indexes whose keys arrive in random order (the 64-character
        // fingerprint, `sub`, `jti`, `findings(token_fingerprint)`) had nearly every page rewritten by every
        // transaction of a large scan. The writer now finds a token by `fingerprint_key` (the first 8 digest
        // bytes as a signed 64-bit integer) through a small non-unique integer index, comparing the full
        // fingerprint in the row; the fingerprint index is no longer UNIQUE (uniqueness is the writer's: it
        // probes before inserting, under the write lock). The text indexes stay for readers, but a large scan
        // drops them while it writes and rebuilds them before it ends (`AuditStore.deferredIndexes`). Views are
        // recreated unchanged.
        """
        DROP VIEW usage;
        DROP VIEW request_windows;
        DROP VIEW finding_details;
        DROP VIEW token_requests;
        DROP VIEW token_lifetimes;
        DROP VIEW tokens;

        CREATE TABLE token_records_v6 (
            id                   INTEGER PRIMARY KEY,
            fingerprint          TEXT NOT NULL,
            kind                 TEXT NOT NULL,
            alg                  TEXT,
            kid                  TEXT,
            typ                  TEXT,
            iss                  TEXT,
            sub                  TEXT,
            aud                  TEXT,
            client_id            TEXT,
            jti                  TEXT,
            scope                TEXT,
            iat                  REAL,
            nbf                  REAL,
            exp                  REAL,
            header_json          TEXT,
            claims_json          TEXT,
            verification_status  TEXT NOT NULL,
            verification_detail  TEXT,
            key_id               TEXT,
            fingerprint_key      INTEGER NOT NULL
        );
        INSERT INTO token_records_v6 (id, fingerprint, kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat,
            nbf, exp, header_json, claims_json, verification_status, verification_detail, key_id, fingerprint_key)
        SELECT id, fingerprint, kind, alg, kid, typ, iss, sub, aud, client_id, jti, scope, iat, nbf, exp, header_json,
            claims_json, verification_status, verification_detail, key_id, \(fingerprintKeySQL("fingerprint"))
        FROM token_records ORDER BY id;
        DROP TABLE token_records;
        ALTER TABLE token_records_v6 RENAME TO token_records;
        CREATE INDEX token_records_by_key ON token_records(fingerprint_key);
        CREATE INDEX tokens_by_fingerprint ON token_records(fingerprint);
        CREATE INDEX tokens_by_sub ON token_records(sub);
        CREATE INDEX tokens_by_jti ON token_records(jti);

        CREATE VIEW tokens AS
        SELECT r.id, r.fingerprint, r.kind, r.alg, r.kid, r.typ, r.iss, r.sub, r.aud, r.client_id, r.jti, r.scope,
            r.iat, r.nbf, r.exp, r.header_json, r.claims_json, r.verification_status, r.verification_detail,
            r.key_id, s.first_seen, s.last_seen, ifnull(s.use_count, 0) AS use_count
        FROM token_records AS r LEFT JOIN token_sightings AS s ON s.token_id = r.id;

        CREATE VIEW usage AS
        SELECT t.fingerprint AS token_fingerprint, ip.value AS client_ip, m.value AS method, h.value AS host,
            p.value AS path, g.status, g.count, g.first_seen, g.last_seen
        FROM usage_groups AS g JOIN token_records AS t ON t.id = g.token_id
            JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
            JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id;

        CREATE VIEW request_windows AS
        SELECT t.fingerprint AS token_fingerprint, CASE b.dimension WHEN 0 THEN 'ip' ELSE 'ua' END AS dimension,
            s.value, b.bucket, b.first_time, b.last_time, b.count
        FROM request_buckets AS b JOIN token_records AS t ON t.id = b.token_id JOIN strings AS s ON s.id = b.value_id;

        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            f.token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f LEFT JOIN token_records AS t ON t.fingerprint = f.token_fingerprint;

        CREATE VIEW token_requests AS
        SELECT u.token_fingerprint, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid, t.verification_status,
            NULLIF(u.client_ip, '') AS client_ip, NULLIF(u.method, '') AS method, NULLIF(u.host, '') AS host,
            NULLIF(u.path, '') AS path, NULLIF(u.status, 0) AS status, u.count, u.first_seen, u.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.last_seen, 'unixepoch') AS last_seen_utc
        FROM usage AS u LEFT JOIN token_records AS t ON t.fingerprint = u.token_fingerprint;

        CREATE VIEW token_lifetimes AS
        SELECT fingerprint, kind, iss, sub, client_id, iat, nbf, exp,
            exp - coalesce(iat, nbf) AS lifetime_seconds, verification_status, first_seen, last_seen, use_count
        FROM tokens;
        """,
        // 7: no more sightings table (issue 6). A token's first/last seen and use count are exactly its usage
        // rows' min(first_seen), max(last_seen) and sum(count) (every sighting a scan counts is one usage
        // count, with the same time), so the writer no longer keeps a copy up to date in every transaction
        // (one upsert per live token per transaction). `tokens` computes them per token (correlated
        // subqueries on the `usage_groups` primary-key prefix) with the same columns in the same order.
        // Sightings the usage rows do not reproduce (never written by `tokenaudit scan`, possible through the
        // library API or older data) keep their difference in `token_sightings_legacy`: the count as an offset
        // (exact), the times as extra values merged in (min/max). Other views are recreated unchanged.
        """
        DROP VIEW usage;
        DROP VIEW request_windows;
        DROP VIEW finding_details;
        DROP VIEW token_requests;
        DROP VIEW token_lifetimes;
        DROP VIEW tokens;

        CREATE TABLE token_sightings_legacy (
            token_id          INTEGER PRIMARY KEY,
            first_seen        REAL,
            last_seen         REAL,
            use_count_offset  INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO token_sightings_legacy (token_id, first_seen, last_seen, use_count_offset)
        SELECT r.id, s.first_seen, s.last_seen, ifnull(s.use_count, 0) - ifnull(u.use_count, 0)
        FROM token_records AS r LEFT JOIN token_sightings AS s ON s.token_id = r.id
            LEFT JOIN (
                SELECT token_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, sum(count) AS use_count
                FROM usage_groups GROUP BY token_id) AS u ON u.token_id = r.id
        WHERE s.first_seen IS NOT u.first_seen OR s.last_seen IS NOT u.last_seen
            OR ifnull(s.use_count, 0) <> ifnull(u.use_count, 0)
        ORDER BY r.id;
        DROP TABLE token_sightings;

        \(tokensViewV7)

        CREATE VIEW usage AS
        SELECT t.fingerprint AS token_fingerprint, ip.value AS client_ip, m.value AS method, h.value AS host,
            p.value AS path, g.status, g.count, g.first_seen, g.last_seen
        FROM usage_groups AS g JOIN token_records AS t ON t.id = g.token_id
            JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
            JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id;

        CREATE VIEW request_windows AS
        SELECT t.fingerprint AS token_fingerprint, CASE b.dimension WHEN 0 THEN 'ip' ELSE 'ua' END AS dimension,
            s.value, b.bucket, b.first_time, b.last_time, b.count
        FROM request_buckets AS b JOIN token_records AS t ON t.id = b.token_id JOIN strings AS s ON s.id = b.value_id;

        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            f.token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f LEFT JOIN token_records AS t ON t.fingerprint = f.token_fingerprint;

        CREATE VIEW token_requests AS
        SELECT u.token_fingerprint, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid, t.verification_status,
            NULLIF(u.client_ip, '') AS client_ip, NULLIF(u.method, '') AS method, NULLIF(u.host, '') AS host,
            NULLIF(u.path, '') AS path, NULLIF(u.status, 0) AS status, u.count, u.first_seen, u.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', u.last_seen, 'unixepoch') AS last_seen_utc
        FROM usage AS u LEFT JOIN token_records AS t ON t.fingerprint = u.token_fingerprint;

        CREATE VIEW token_lifetimes AS
        SELECT fingerprint, kind, iss, sub, client_id, iat, nbf, exp,
            exp - coalesce(iat, nbf) AS lifetime_seconds, verification_status, first_seen, last_seen, use_count
        FROM tokens;
        """,
        // 8: one request-window row per line instead of two (issue 6). A line's client IP and User-Agent fall in
        // the same (token, bucket), and a token nearly always has one User-Agent, so `request_buckets` is keyed
        // (token, bucket, client IP, User-Agent), 0 standing for an absent value (a line with an IP but no
        // User-Agent, or the reverse): about half as many rows to fold, upsert and store. Existing rows keep their
        // meaning: an 'ip' row becomes (token, bucket, ip, 0), a 'ua' row (token, bucket, 0, ua). The
        // `request_windows` view keeps its columns and rows: per dimension, the rows with that value present,
        // grouped by (token, value, bucket) with min, max and sum. No other view reads `request_buckets`.
        """
        DROP VIEW request_windows;

        CREATE TABLE request_buckets_v8 (
            token_id    INTEGER NOT NULL,
            bucket      INTEGER NOT NULL,
            ip_id       INTEGER NOT NULL,
            ua_id       INTEGER NOT NULL,
            first_time  REAL    NOT NULL,
            last_time   REAL    NOT NULL,
            count       INTEGER NOT NULL,
            PRIMARY KEY (token_id, bucket, ip_id, ua_id)
        ) WITHOUT ROWID;
        INSERT INTO request_buckets_v8 (token_id, bucket, ip_id, ua_id, first_time, last_time, count)
        SELECT token_id, bucket, CASE dimension WHEN 0 THEN value_id ELSE 0 END,
            CASE dimension WHEN 0 THEN 0 ELSE value_id END, first_time, last_time, count
        FROM request_buckets ORDER BY 1, 2, 3, 4;
        DROP TABLE request_buckets;
        ALTER TABLE request_buckets_v8 RENAME TO request_buckets;

        \(requestWindowsViewV8)
        """,
        // 9: findings keyed by the token's integer id (issue 6). Keyed by (rule, 64-hex fingerprint,
        // discriminator), a transaction's finding upserts landed on random leaf pages of the ~500-byte-row table,
        // so a scan where every token has findings (a stale or missing key set) rewrote nearly the whole table
        // into the WAL in every transaction (3 M lines without keys: 8.45 GB written for a 472 MB database).
        // Keyed (token id, rule, discriminator), they land at the end of the B-tree (new tokens) or beside their
        // token's recent id. Every column stays (`token_fingerprint` too, for the views, the SIEM output and
        // ad-hoc queries); `token_id` is added last, so `SELECT *` keeps the old columns' positions. A finding
        // of a token without a record (never written by a scan) gets a placeholder record, as usage did in
        // migration 4. `findings_by_token` goes (the key's prefix serves lookups by token); `findings_by_rule`
        // serves the post-pass's reads by rule (new findings land at the end of each rule's range, in id order).
        // `finding_details` joins by id; its rows are the same.
        """
        DROP VIEW finding_details;

        INSERT INTO token_records (fingerprint, fingerprint_key, kind, verification_status)
        SELECT token_fingerprint, \(fingerprintKeySQL("token_fingerprint")), 'unknown', ''
        FROM (SELECT DISTINCT token_fingerprint FROM findings) AS f
        WHERE NOT EXISTS (SELECT 1 FROM token_records AS t
            WHERE t.fingerprint_key = \(fingerprintKeySQL("f.token_fingerprint")) AND t.fingerprint = f.token_fingerprint)
        ORDER BY token_fingerprint;

        CREATE TABLE findings_v9 (
            rule_id           TEXT    NOT NULL,
            token_fingerprint TEXT    NOT NULL,
            discriminator     TEXT    NOT NULL DEFAULT '',
            severity          INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 4),
            first_seen        REAL,
            last_seen         REAL,
            count             INTEGER NOT NULL,
            example_source    TEXT,
            example_line      INTEGER,
            example_time      REAL,
            status_codes      TEXT    NOT NULL DEFAULT '[]',
            evidence          TEXT    NOT NULL DEFAULT '{}',
            suppressed        INTEGER NOT NULL DEFAULT 0 CHECK (suppressed IN (0, 1)),
            token_id          INTEGER NOT NULL,
            PRIMARY KEY (token_id, rule_id, discriminator)
        ) WITHOUT ROWID;
        INSERT INTO findings_v9 (rule_id, token_fingerprint, discriminator, severity, first_seen, last_seen, count,
            example_source, example_line, example_time, status_codes, evidence, suppressed, token_id)
        SELECT f.rule_id, f.token_fingerprint, f.discriminator, f.severity, f.first_seen, f.last_seen, f.count,
            f.example_source, f.example_line, f.example_time, f.status_codes, f.evidence, f.suppressed,
            (SELECT min(t.id) FROM token_records AS t
                WHERE t.fingerprint_key = \(fingerprintKeySQL("f.token_fingerprint")) AND t.fingerprint = f.token_fingerprint)
        FROM findings AS f ORDER BY 14, 1, 3;
        DROP TABLE findings;
        ALTER TABLE findings_v9 RENAME TO findings;
        CREATE INDEX findings_by_rule ON findings(rule_id);

        \(findingDetailsViewV9)
        """,
        // 10: the cross-request post-pass judges only what changed (nightly scans). It judged every token in
        // the database on every run, so a nightly job's end grew with its history (10 nights of 2 M lines:
        // 0.81 CPU-s, twice five nights'). `cross_request_state` holds the highest token id the last completed
        // post-pass judged and the key of the policy it judged with (`CrossRequestRules.policyKey`);
        // `cross_request_pending` the tokens at or below that id whose rows a later commit changed (written in
        // the commit's own transaction, so a killed run leaves them for its re-run). No row in the first: the
        // next post-pass judges everything, as before.
        """
        CREATE TABLE cross_request_state (
            id                      INTEGER PRIMARY KEY CHECK (id = 1),
            judged_through_token_id INTEGER NOT NULL,
            policy_key              TEXT    NOT NULL
        );
        CREATE TABLE cross_request_pending (
            token_id INTEGER PRIMARY KEY
        );
        """,
        // 11: client IP → token pairs replace the index `usage_groups_by_client_ip`. That index held one entry per
        // usage row (~20 bytes each: the client-IP id, then the whole primary key), and client-IP ids land at
        // random, so every transaction rewrote pages all over it: on a series of 2 M-line nights into one database
        // it was about half of what each night cost more than the one before (tenth night: 1 360 → 880 MB
        // written, 3.7 → 2.3 CPU-s in the committer without it). `client_ip_tokens` holds each distinct
        // (client IP, token) once (11–13 times smaller), written by the same transaction as the usage rows, never
        // deferred. The `usage` view reaches `usage_groups` through it, so a lookup by client IP reads the
        // pairs, then each token's rows of that IP by the primary-key prefix; its rows are the same.
        // `tokens_by_verification` serves the scan summary's count of every stored token by verification status,
        // which read the whole of `token_records` (JSON included) after every scan: 0.095 s at ten nights,
        // growing with them; 0.012 s through the index. New tokens' ids only grow, so its entries land at the
        // end of each status's range (a handful of pages per transaction). The two partial indexes serve the
        // post-pass's reads of every ID token (nonce reuse) and every client assertion (replay when it judges
        // everything), which scanned all of `token_records` after every scan (0.085 s each at ten nights of
        // access tokens, growing with them): they hold only the tokens of their kind, in id order.
        """
        DROP INDEX IF EXISTS usage_groups_by_client_ip;
        CREATE INDEX tokens_by_verification ON token_records(verification_status);
        CREATE INDEX tokens_of_kind_id_token ON token_records(id) WHERE kind = 'id-token';
        CREATE INDEX tokens_of_kind_client_assertion ON token_records(id) WHERE kind = 'client-assertion';
        CREATE TABLE client_ip_tokens (
            client_ip_id INTEGER NOT NULL,
            token_id     INTEGER NOT NULL,
            PRIMARY KEY (client_ip_id, token_id)
        ) WITHOUT ROWID;
        INSERT INTO client_ip_tokens (client_ip_id, token_id)
        SELECT DISTINCT client_ip_id, token_id FROM usage_groups ORDER BY 1, 2;
        DROP VIEW usage;
        \(usageViewV11)
        """,
        // 12: `finding_details` shows its token record's fingerprint instead of the finding's own copy. They are
        // equal (every finding has a token record since migration 9), but `findings.token_fingerprint` has no
        // index, so a lookup of one token's findings through the view read every finding (0.1 s a 10 M-line night
        // of the benchmark, growing with each night kept). Joined (not LEFT JOIN: the same rows, and SQLite does
        // not reorder a LEFT JOIN for a GLOB filter), a lookup finds the token through `tokens_by_fingerprint`
        // and its findings by the key's prefix.
        """
        DROP VIEW finding_details;
        \(findingDetailsViewV12)
        """,
        // 13: the UTC days each token was seen (issue 6: nightly reports). A report of one night judged "the
        // tokens seen in the period" on every token of the database, by its usage rows (`tokens.first_seen` /
        // `last_seen`): on eleven 2 M-line nights a one-night report spent 2.8 s there, growing with every night
        // kept. `token_days` holds each (UTC day, token) with a timed request, day first: a scan's pairs land at
        // the end of the table, and the tokens of a period are read from the days it covers. The report keeps
        // its definition (a token whose first and last sighting span the period) and checks it on those tokens
        // only: a token whose last sighting is at or after the period's start has that sighting's day. Scans
        // store every day with a request; this fill, which has only the usage rows' times, the days of each
        // token's first and last sighting (legacy sightings included), which is all the report needs.
        """
        CREATE TABLE token_days (
            day      INTEGER NOT NULL,
            token_id INTEGER NOT NULL,
            PRIMARY KEY (day, token_id)
        ) WITHOUT ROWID;
        INSERT INTO token_days (day, token_id)
        WITH spans AS MATERIALIZED (
            SELECT token_id, min(first_seen) AS f, max(last_seen) AS l FROM usage_groups GROUP BY token_id
            UNION ALL SELECT token_id, first_seen, last_seen FROM token_sightings_legacy)
        SELECT DISTINCT day, token_id FROM (
            SELECT \(utcDaySQL("f")) AS day, token_id FROM spans WHERE f IS NOT NULL
            UNION ALL SELECT \(utcDaySQL("l")), token_id FROM spans WHERE l IS NOT NULL)
        ORDER BY 1, 2;
        """,
        // 14: the findings of a period, found by time (issue 6: nightly reports). Every findings query of the
        // report read the whole table (`findings` has had no time index since migration 4): ~0.35 s of a
        // one-night report at ten 2 M-line nights, growing with every night kept. A finding's `last_seen` moves
        // at each merge, but to a recent time: the entry moves within the index's last pages. The index holds
        // every column the report's findings queries read (with the key: token id, rule, discriminator), so a
        // report of the whole history reads it instead of the table, and one of a night only its last pages.
        """
        CREATE INDEX findings_by_last_seen ON findings(last_seen, first_seen, severity, suppressed, count);
        """,
        // 15: the fingerprints and keys of a scan's new tokens, until the scan's end (issue 6: nightly scans).
        // `tokens_by_fingerprint` and `token_records_by_key` are keyed by the fingerprint, in random order. A scan
        // into a database with a history keeps them up to date (rebuilding them would read every token), and each
        // of its transactions rewrote one page of each for nearly every new token: on the 22nd 2 M-line night,
        // 82 000 of the 180 000 pages written to the WAL (the fingerprint index's 8 800 pages written 61 000
        // times). A scan's new token is now stored with a placeholder fingerprint and key (the same for all: its
        // entries follow each other in id order), and the real values here, where the writer finds them by key;
        // the scan writes them into the records before its cross-request post-pass, in fingerprint order, so each
        // index page is written about once. (`sub` and `jti`, also random-key, stay as they were: a second and
        // third pass over the records cost about what they saved.) A scan killed before then leaves rows here:
        // every writable open writes them (AuditStore), and so does a read-only one when no scan holds the write
        // lock.
        """
        CREATE TABLE pending_token_columns (
            id              INTEGER PRIMARY KEY,
            fingerprint     TEXT NOT NULL,
            fingerprint_key INTEGER NOT NULL
        );
        CREATE INDEX pending_token_columns_by_key ON pending_token_columns(fingerprint_key);
        """,
    ]

    /// The `finding_details` view of migration 12: the columns and rows of migration 9's, `token_fingerprint`
    /// taken from the token record (indexed) rather than from `findings` (not indexed), the record joined rather
    /// than left-joined (every finding has one).
    /// Released: never change it; a later migration recreates it.
    static let findingDetailsViewV12 = """
        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            t.fingerprint AS token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f JOIN token_records AS t ON t.id = f.token_id;
        """

    /// The `usage` view of migration 11: the rows and columns of the earlier one, `usage_groups` joined through
    /// `client_ip_tokens` (every usage row has its pair: the writer inserts it in the row's own transaction), so
    /// that a filter on `client_ip` starts from the pairs (SQLite 3.40 plans it so: the strings' unique index,
    /// the pairs, then `usage_groups` by `(token_id, client_ip_id)`), and a filter on `token_fingerprint` from
    /// the token (one pair probe per row). Reading the whole view costs one probe per row more (tenth night of
    /// the nightly series, 4 M rows: 1.2 → 2.7 s); the report's whole-table queries read `usage_groups`.
    /// Released: never change it; a later migration recreates it.
    static let usageViewV11 = """
        CREATE VIEW usage AS
        SELECT t.fingerprint AS token_fingerprint, ip.value AS client_ip, m.value AS method, h.value AS host,
            p.value AS path, g.status, g.count, g.first_seen, g.last_seen
        FROM client_ip_tokens AS x
            JOIN usage_groups AS g ON g.token_id = x.token_id AND g.client_ip_id = x.client_ip_id
            JOIN token_records AS t ON t.id = g.token_id
            JOIN strings AS ip ON ip.id = g.client_ip_id JOIN strings AS m ON m.id = g.method_id
            JOIN strings AS h ON h.id = g.host_id JOIN strings AS p ON p.id = g.path_id;
        """

    /// The `finding_details` view of migration 9: the columns and rows of the earlier one, its token joined by
    /// id (every finding has a token record from schema 9 on) instead of by fingerprint.
    /// Released: never change it; a later migration recreates it.
    static let findingDetailsViewV9 = """
        CREATE VIEW finding_details AS
        SELECT f.rule_id, f.severity,
            CASE f.severity WHEN 0 THEN 'info' WHEN 1 THEN 'low' WHEN 2 THEN 'medium' WHEN 3 THEN 'high'
                ELSE 'critical' END AS severity_name,
            f.token_fingerprint, f.discriminator, t.kind, t.iss, t.sub, t.client_id, t.jti, t.kid,
            t.verification_status, f.count, f.first_seen, f.last_seen,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.first_seen, 'unixepoch') AS first_seen_utc,
            strftime('%Y-%m-%dT%H:%M:%SZ', f.last_seen, 'unixepoch') AS last_seen_utc,
            f.status_codes, f.evidence, f.suppressed, f.example_source, f.example_line
        FROM findings AS f LEFT JOIN token_records AS t ON t.id = f.token_id;
        """

    /// The `request_windows` view of migration 8: the rows and columns of the two-row layout's view (one row per
    /// token × dimension × value × bucket), each dimension grouped from the rows where its id is not 0 (absent).
    /// Grouped by the fingerprint and the text (each stands for one id), not by the ids: SQLite pushes a filter
    /// on a grouped column into the aggregate, so a lookup by `token_fingerprint` reads that token's rows through
    /// `tokens_by_fingerprint` (3 M lines: ~1 ms); grouped by ids, it read the whole table (1.0 s). Reading the
    /// whole view sorts each dimension (3 M lines: 2.6 s against 1.3 s for the two-row layout's plain join).
    /// Released: never change it; a later migration recreates it.
    static let requestWindowsViewV8 = """
        CREATE VIEW request_windows AS
        SELECT t.fingerprint AS token_fingerprint, 'ip' AS dimension, s.value, b.bucket,
            min(b.first_time) AS first_time, max(b.last_time) AS last_time, sum(b.count) AS count
        FROM request_buckets AS b JOIN token_records AS t ON t.id = b.token_id JOIN strings AS s ON s.id = b.ip_id
        WHERE b.ip_id <> 0
        GROUP BY t.fingerprint, s.value, b.bucket
        UNION ALL
        SELECT t.fingerprint AS token_fingerprint, 'ua' AS dimension, s.value, b.bucket,
            min(b.first_time) AS first_time, max(b.last_time) AS last_time, sum(b.count) AS count
        FROM request_buckets AS b JOIN token_records AS t ON t.id = b.token_id JOIN strings AS s ON s.id = b.ua_id
        WHERE b.ua_id <> 0
        GROUP BY t.fingerprint, s.value, b.bucket;
        """

    /// The `tokens` view of migration 7: one table in its FROM clause, so SQLite flattens it into every query
    /// (a column a query does not read is never computed; a LEFT JOIN in the view stopped that where `tokens`
    /// is itself the right side of a LEFT JOIN). Each time or count is a correlated subquery on the
    /// `usage_groups` primary-key prefix (a point lookup reads only the token's rows: ~10 on average), merged
    /// with the token's `token_sightings_legacy` row if it has one. A GROUP BY subquery joined in instead was
    /// materialised whole (all usage rows) for every query, point lookups included (measured, SQLite 3.40).
    /// Released: never change it; a later migration recreates it.
    static let tokensViewV7 = """
        CREATE VIEW tokens AS
        SELECT r.id, r.fingerprint, r.kind, r.alg, r.kid, r.typ, r.iss, r.sub, r.aud, r.client_id, r.jti, r.scope,
            r.iat, r.nbf, r.exp, r.header_json, r.claims_json, r.verification_status, r.verification_detail,
            r.key_id,
            (SELECT min(v) FROM (SELECT min(g.first_seen) AS v FROM usage_groups AS g WHERE g.token_id = r.id
                UNION ALL SELECT l.first_seen FROM token_sightings_legacy AS l WHERE l.token_id = r.id)) AS first_seen,
            (SELECT max(v) FROM (SELECT max(g.last_seen) AS v FROM usage_groups AS g WHERE g.token_id = r.id
                UNION ALL SELECT l.last_seen FROM token_sightings_legacy AS l WHERE l.token_id = r.id)) AS last_seen,
            (SELECT ifnull(sum(g.count), 0) FROM usage_groups AS g WHERE g.token_id = r.id)
                + ifnull((SELECT l.use_count_offset FROM token_sightings_legacy AS l WHERE l.token_id = r.id), 0)
                AS use_count
        FROM token_records AS r;
        """

    /// The UTC day of the epoch-seconds expression `time` in SQL, as ``BatchTokenDay/day(of:)`` computes it:
    /// rounded down (also before 1970) and clamped to 32 bits. Migration 13 uses it.
    /// Released: never change it.
    static func utcDaySQL(_ time: String) -> String {
        let days = "\(time) / 86400.0"
        return "max(-2147483648, min(2147483647, CAST(\(days) AS INTEGER) - (\(days) < CAST(\(days) AS INTEGER))))"
    }

    /// The version a database has once every migration ran.
    static var currentVersion: Int { migrations.count }

    /// Tables in a stable order, for dumps and summaries.
    /// `usage` and `request_windows` are views (migration 4) over the integer-keyed tables, so a dump shows
    /// fingerprints and strings, never the ids (which depend on commit order).
    static let tables = ["runs", "sources", "tokens", "usage", "findings", "request_windows", "token_days"]

    /// What a dump reads for a table whose rows name tokens by id: the fingerprint instead.
    static let dumpQueries: [String: String] = [
        "token_days": "SELECT t.fingerprint, d.day FROM token_days AS d JOIN token_records AS t ON t.id = d.token_id"
    ]

    /// Columns a dump leaves out: surrogate ids that depend on commit order, not on content.
    static let surrogateColumns: [String: Set<String>] = ["tokens": ["id"], "findings": ["token_id"]]
}
