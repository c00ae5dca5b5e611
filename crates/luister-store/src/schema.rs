//! The versioned schema: every table Luister keeps in ClickHouse.
//!
//! Statements here must run on ClickHouse 18.16 and on current releases (the chDB
//! compatibility test executes all of them), so: no TTL, no Map, no `DateTime64`.
//! `LowCardinality` is used for repetitive text (site, page, browser, …) because it
//! makes filters and groupings several times cheaper; the connection enables it on
//! 18.x (see client.rs). Each statement is idempotent (`IF NOT EXISTS`).

/// One step of the schema's history. Never edit a released migration; add a new one.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

/// All migrations in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial schema",
        statements: &[
            "CREATE TABLE IF NOT EXISTS events (
            site_id LowCardinality(String),
            timestamp DateTime('UTC'),
            event_id UInt64,
            name LowCardinality(String),
            visitor_id UInt64,
            session_id UInt64,
            hostname LowCardinality(String),
            pathname LowCardinality(String),
            referrer String,
            referrer_source LowCardinality(String),
            channel LowCardinality(String),
            utm_source LowCardinality(String),
            utm_medium LowCardinality(String),
            utm_campaign LowCardinality(String),
            utm_content LowCardinality(String),
            utm_term LowCardinality(String),
            country_code LowCardinality(String),
            region LowCardinality(String),
            city LowCardinality(String),
            browser LowCardinality(String),
            browser_version LowCardinality(String),
            os LowCardinality(String),
            os_version LowCardinality(String),
            device LowCardinality(String),
            search_term String,
            search_results Int32,
            props Nested (key String, value String),
            value_cents Int64,
            currency LowCardinality(String),
            interactive UInt8,
            scroll_depth UInt8,
            engaged_ms UInt32
        ) ENGINE = MergeTree()
        PARTITION BY toYYYYMM(timestamp)
        ORDER BY (site_id, toDate(timestamp), visitor_id, timestamp)",
            "CREATE TABLE IF NOT EXISTS sites (
            domain String,
            timezone String,
            search_params Array(String),
            allowed_params Array(String),
            matomo_id UInt32,
            extra_hosts Array(String),
            salt_rotation String,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY domain",
            "CREATE TABLE IF NOT EXISTS salts (
            rotation String,
            period_start Date,
            k0 UInt64,
            k1 UInt64,
            created_ns UInt64
        ) ENGINE = MergeTree()
        PARTITION BY (rotation, toYYYYMMDD(period_start))
        ORDER BY (rotation, period_start, created_ns)",
            "CREATE TABLE IF NOT EXISTS tokens (
            token_hash String,
            name String,
            admin UInt8,
            sites Array(String),
            created_at DateTime('UTC'),
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY token_hash",
            "CREATE TABLE IF NOT EXISTS goals (
            site_id String,
            id String,
            event_name String,
            page_path String,
            display_name String,
            value_cents Int64,
            minutes_saved Float64,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY (site_id, id)",
            "CREATE TABLE IF NOT EXISTS funnels (
            site_id String,
            id String,
            name String,
            definition String,
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY (site_id, id)",
        ],
    },
    Migration {
        version: 2,
        name: "sessions table",
        statements: &[
            "CREATE TABLE IF NOT EXISTS sessions (
            site_id LowCardinality(String),
            session_id UInt64,
            visitor_id UInt64,
            sign Int8,
            event_id UInt64,
            started_at DateTime('UTC'),
            ended_at DateTime('UTC'),
            pageviews UInt32,
            events UInt32,
            interactions UInt32,
            entry_page LowCardinality(String),
            exit_page LowCardinality(String),
            hostname LowCardinality(String),
            referrer String,
            referrer_source LowCardinality(String),
            channel LowCardinality(String),
            utm_source LowCardinality(String),
            utm_medium LowCardinality(String),
            utm_campaign LowCardinality(String),
            utm_content LowCardinality(String),
            utm_term LowCardinality(String),
            country_code LowCardinality(String),
            region LowCardinality(String),
            city LowCardinality(String),
            browser LowCardinality(String),
            browser_version LowCardinality(String),
            os LowCardinality(String),
            os_version LowCardinality(String),
            device String
        ) ENGINE = CollapsingMergeTree(sign)
        PARTITION BY toYYYYMM(started_at)
        ORDER BY (site_id, toDate(started_at), session_id)",
            // Visits of events stored before this table existed.
            SESSIONS_FROM_EVENTS,
        ],
    },
    Migration {
        version: 3,
        name: "salt-period rollups",
        statements: &[
            // Totals of the visitors of one salt period (the UTC day whose salt made their
            // visitor ids), per local day of the site (`day`; 1970-01-01 for the whole
            // period) and per value of one property. Visitor ids of different periods
            // never meet, so totals of several periods add up exactly, distinct counts
            // included. Written by the query layer for closed periods; rows of a build
            // that `rollup_builds` no longer names are ignored.
            "CREATE TABLE IF NOT EXISTS period_rollup (
            site_id String,
            dimension String,
            period Date,
            day Date,
            value String,
            build UInt64,
            visitors UInt64,
            visits UInt64,
            pageviews UInt64,
            events UInt64,
            bounces UInt64,
            duration_sum UInt64,
            searches UInt64,
            zero_results UInt64,
            exits UInt64,
            refinements UInt64
        ) ENGINE = MergeTree()
        PARTITION BY toYYYYMM(period)
        ORDER BY (site_id, dimension, period, day, value)",
            // Funnel answers per UTC day: visitors whose first step event falls on `day`,
            // per step reached, for one funnel definition (`funnel`, a hash), valid while
            // the builds of the day before, the day and the day after are `builds`.
            "CREATE TABLE IF NOT EXISTS funnel_days (
            site_id String,
            funnel UInt64,
            day Date,
            builds String,
            reached Array(UInt64)
        ) ENGINE = MergeTree()
        PARTITION BY toYYYYMM(day)
        ORDER BY (site_id, funnel, day)",
            // The valid build of each period (0: none, e.g. after an import into it), the
            // local days its visits' events fall on, and the time zone of those days (a
            // build for another zone than the site's now is not used).
            "CREATE TABLE IF NOT EXISTS rollup_builds (
            site_id String,
            period Date,
            build UInt64,
            visits UInt64,
            first_day Date,
            last_day Date,
            timezone String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY (site_id, period)",
        ],
    },
    Migration {
        version: 4,
        name: "token scopes",
        statements: &[
            // `read` (reports), `write` (also goals, funnels, actions) or `admin`. Tokens
            // made before scopes existed become `read`: the safe side.
            "ALTER TABLE tokens ADD COLUMN scope String DEFAULT 'read'",
        ],
    },
    Migration {
        version: 5,
        name: "audit log",
        statements: &[
            // Who changed what and when; tokens appear by name and id only.
            "CREATE TABLE IF NOT EXISTS audit_log (
            at DateTime('UTC'),
            actor String,
            action String,
            site_id String,
            subject String
        ) ENGINE = MergeTree()
        PARTITION BY toYYYYMM(at)
        ORDER BY (at, site_id)",
        ],
    },
    Migration {
        version: 6,
        name: "per-site retention",
        statements: &["ALTER TABLE sites ADD COLUMN retention_months UInt16 DEFAULT 0"],
    },
    Migration {
        version: 7,
        name: "dashboard users and share links",
        statements: &[
            // Dashboard accounts; passwords only as Argon2id hashes.
            "CREATE TABLE IF NOT EXISTS users (
            email String,
            role String,
            sites Array(String),
            password_hash String,
            created_at DateTime('UTC'),
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY email",
            // Read-only links to one site's dashboard; the link only as a SHA-256 hash.
            "CREATE TABLE IF NOT EXISTS share_links (
            link_hash String,
            site_id String,
            name String,
            password_hash String,
            created_at DateTime('UTC'),
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY link_hash",
        ],
    },
    Migration {
        version: 8,
        name: "two-factor and single sign-on",
        statements: &[
            // The TOTP secret of a user who set up two-factor sign-in (empty: none), and
            // the SHA-256 hashes of their unused recovery codes.
            "ALTER TABLE users ADD COLUMN totp_secret String DEFAULT ''",
            "ALTER TABLE users ADD COLUMN recovery_hashes Array(String) DEFAULT []",
            // `local` (password) or `oidc` (single sign-on; role and sites from the provider).
            "ALTER TABLE users ADD COLUMN auth_source String DEFAULT 'local'",
        ],
    },
    Migration {
        version: 9,
        name: "actions",
        statements: &[
            // What a team changed and wants measured; target and control as JSON.
            "CREATE TABLE IF NOT EXISTS actions (
            site_id String,
            id String,
            title String,
            description String,
            owner String,
            start_date String,
            status String,
            expected_direction String,
            target String,
            control String,
            created_at DateTime('UTC'),
            deleted UInt8,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY (site_id, id)",
        ],
    },
    Migration {
        version: 10,
        name: "review cycles",
        statements: &[
            // A site's review cycle: its length in weeks and a date on which one begins.
            "CREATE TABLE IF NOT EXISTS site_cycles (
            site_id String,
            weeks UInt8,
            start_date String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        ORDER BY site_id",
        ],
    },
    Migration {
        version: 11,
        name: "deliveries",
        statements: &[
            // What was sent (a cycle report, a day's alerts), so it goes out once.
            "CREATE TABLE IF NOT EXISTS deliveries (
            site_id String,
            kind String,
            key String,
            delivered_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree()
        ORDER BY (site_id, kind, key)",
        ],
    },
    Migration {
        version: 12,
        name: "open data opt-in",
        statements: &["ALTER TABLE sites ADD COLUMN open_data UInt8 DEFAULT 0"],
    },
];

/// Rebuilds the visits of stored events (the sessions table is derived data).
pub const SESSIONS_FROM_EVENTS: &str = "INSERT INTO sessions SELECT site_id, session_id, any(visitor_id), toInt8(1), max(event_id),
            min(timestamp), max(timestamp), toUInt32(countIf(name = 'pageview')), toUInt32(count()),
            toUInt32(countIf(name != 'pageview' AND interactive = 1)),
            argMinIf(pathname, timestamp, name = 'pageview'), argMaxIf(pathname, timestamp, name = 'pageview'),
            argMin(hostname, timestamp), argMin(referrer, timestamp), argMin(referrer_source, timestamp),
            argMin(channel, timestamp), argMin(utm_source, timestamp), argMin(utm_medium, timestamp),
            argMin(utm_campaign, timestamp), argMin(utm_content, timestamp), argMin(utm_term, timestamp),
            argMin(country_code, timestamp), argMin(region, timestamp), argMin(city, timestamp),
            argMin(browser, timestamp), argMin(browser_version, timestamp), argMin(os, timestamp),
            argMin(os_version, timestamp), argMin(device, timestamp)
        FROM events WHERE name != 'engagement' GROUP BY site_id, session_id";

/// Bookkeeping table of applied migrations; created before any migration runs.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version";

/// SHA-256 of a migration's statements, each followed by a NUL byte: what
/// [`tests::released_migrations_are_never_edited`] pins.
pub fn migration_digest(migration: &Migration) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for statement in migration.statements {
        hash.update(statement.as_bytes());
        hash.update([0u8]);
    }
    hash.finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every migration as it was released. An install that applied one never applies
    /// it again, so editing it would leave existing databases on another schema than
    /// new ones. Change the schema with a new migration, and add its digest here in
    /// the same commit.
    const RELEASED: &[(u32, &str)] = &[
        (
            1,
            "ed58c3dd853fdf075c489499d2e58459df98f0bc882283513550988b9781e9a2",
        ),
        (
            2,
            "b2cf334e9134087165852fc8fb4d9ac73ca492bd758aa5f3792c3378d2210534",
        ),
        (
            3,
            "e5c1f5515c6152130ad796179523e5ff0f8b22b514084d3811821a2a5fc09b98",
        ),
        (
            4,
            "3f72cb406115de587aebdbf4da80c85186e164d0440a28102cabd9e02c1e2cb7",
        ),
        (
            5,
            "98d3cd7aad89255b69028e570af7f6e6ec5821b32032c82d084f9107efeed008",
        ),
        (
            6,
            "6e27b9c40569321086008d9bed1bf1ee4950f10eab9d054f27b2fb41dc468f2e",
        ),
        (
            7,
            "7ddef99c72713e756bbcac4d613273c93a9f9bf949d108003bcb51dcea33d429",
        ),
        (
            8,
            "c892dde601b9ed2ea7caf8d07cfa708515a8362d3b8d7d346a1e51c2d1f8b287",
        ),
        (
            9,
            "40d7eb10dc2966b4274327c0d9e15baa06defc0dd45535ce059ae4809bad1e53",
        ),
        (
            10,
            "469ec4fedf782db8343724cb40f7968facec709d87e283e9e192f814ae642bba",
        ),
        (
            11,
            "75ef584fe7fbc1b80a553b5909683199c6782cd969c562881aaa55937138f57d",
        ),
        (
            12,
            "6ce47efc45bb2d504d11fcf40cd510ac56448186e1559cf7dea5b21ebc4f7b36",
        ),
    ];

    #[test]
    fn released_migrations_are_never_edited() {
        let actual: Vec<(u32, String)> = MIGRATIONS
            .iter()
            .map(|m| (m.version, migration_digest(m)))
            .collect();
        for (version, digest) in RELEASED {
            let now = actual.iter().find(|(v, _)| v == version);
            assert_eq!(
                now.map(|(_, d)| d.as_str()),
                Some(*digest),
                "migration {version} was released and must not change; add a new migration instead"
            );
        }
        let unpinned: Vec<_> = actual
            .iter()
            .filter(|(v, _)| !RELEASED.iter().any(|(r, _)| r == v))
            .collect();
        assert!(
            unpinned.is_empty(),
            "pin each new migration in RELEASED (version, digest): {unpinned:?}"
        );
    }

    #[test]
    fn versions_rise_one_at_a_time() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, i + 1, "{}", migration.name);
        }
    }
}
