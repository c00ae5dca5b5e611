//! The versioned schema: every table Luister keeps in ClickHouse.
//!
//! Statements here must run on ClickHouse 18.16 and on current releases (the chDB
//! compatibility test executes all of them), so: no TTL, no Map, no LowCardinality,
//! no `DateTime64`. Each statement is idempotent (`IF NOT EXISTS`).

/// One step of the schema's history. Never edit a released migration; add a new one.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

/// All migrations in the order they are applied.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "initial schema",
    statements: &[
        "CREATE TABLE IF NOT EXISTS events (
            site_id String,
            timestamp DateTime('UTC'),
            event_id UInt64,
            name String,
            visitor_id UInt64,
            session_id UInt64,
            hostname String,
            pathname String,
            referrer String,
            referrer_source String,
            channel String,
            utm_source String,
            utm_medium String,
            utm_campaign String,
            utm_content String,
            utm_term String,
            country_code String,
            region String,
            city String,
            browser String,
            browser_version String,
            os String,
            os_version String,
            device String,
            search_term String,
            search_results Int32,
            props Nested (key String, value String),
            value_cents Int64,
            currency String,
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
}];

/// Bookkeeping table of applied migrations; created before any migration runs.
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32,
    name String,
    applied_at DateTime('UTC')
) ENGINE = ReplacingMergeTree()
ORDER BY version";
