//! Upgrading an existing install: a database made by the first released schema
//! (migrations 1 and 2, as landed; `schema.rs` pins every released migration) with data
//! in it is brought to the current schema by `migrate`, keeps every row, answers reports,
//! and ends with exactly the tables and columns of a fresh install.

use chrono::{TimeZone, Utc};
use luister_store::schema::{MIGRATIONS, MIGRATIONS_TABLE};
use luister_store::Store;
use luister_tests::app::TestApp;
use luister_tests::{fresh_settings, TestDb};
use serde_json::Value;

const SITE: &str = "upgrade.example";

/// Runs `sql` on the database, failing the test with ClickHouse's message.
async fn exec(store: &Store, sql: &str) {
    store
        .client()
        .query(sql)
        .execute()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn apply_released(store: &Store, version: u32) {
    let migration = MIGRATIONS
        .iter()
        .find(|m| m.version == version)
        .expect("released migration");
    for statement in migration.statements {
        exec(store, statement).await;
    }
    exec(
        store,
        &format!(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ({version}, '{}', now())",
            migration.name
        ),
    )
    .await;
}

/// The database as the first release left it: its schema, a site, a token and a day of
/// events (the visits were derived from them by migration 2, as on a real install).
async fn first_release_database() -> TestDb {
    let store = Store::connect(fresh_settings()).await.expect("connect");
    exec(&store, MIGRATIONS_TABLE).await;
    apply_released(&store, 1).await;
    exec(
        &store,
        &format!(
            "INSERT INTO sites (domain, timezone, search_params, allowed_params, matomo_id, \
             extra_hosts, salt_rotation, deleted, version) \
             VALUES ('{SITE}', 'Europe/Amsterdam', ['q'], [], 0, [], 'daily', 0, 1)"
        ),
    )
    .await;
    exec(
        &store,
        "INSERT INTO tokens (token_hash, name, admin, sites, created_at, deleted, version) \
         VALUES ('0123abcd', 'old token', 0, ['upgrade.example'], '2026-11-01 08:00:00', 0, 1)",
    )
    .await;
    // Three visitors on 2 November: two pageviews; one; one and an application event.
    exec(
        &store,
        &format!(
            "INSERT INTO events (site_id, timestamp, event_id, name, visitor_id, session_id, \
             hostname, pathname, browser, device) VALUES \
             ('{SITE}', '2026-11-02 09:00:00', 1, 'pageview', 11, 101, '{SITE}', '/', 'Firefox', 'Desktop'), \
             ('{SITE}', '2026-11-02 09:02:00', 2, 'pageview', 11, 101, '{SITE}', '/schulden', 'Firefox', 'Desktop'), \
             ('{SITE}', '2026-11-02 10:00:00', 3, 'pageview', 12, 102, '{SITE}', '/schulden', 'Chrome', 'Mobile'), \
             ('{SITE}', '2026-11-02 11:00:00', 4, 'pageview', 13, 103, '{SITE}', '/aanvragen', 'Safari', 'Mobile'), \
             ('{SITE}', '2026-11-02 11:01:00', 5, 'Aanvraag', 13, 103, '{SITE}', '/aanvragen', 'Safari', 'Mobile')"
        ),
    )
    .await;
    apply_released(&store, 2).await;
    TestDb { store }
}

/// Every table's columns with their types and defaults.
async fn schema_of(db: &TestDb) -> Vec<Value> {
    let database = db.settings().database;
    db.json_rows(&format!(
        "SELECT table, name, type, default_kind, default_expression FROM system.columns \
         WHERE database = '{database}' ORDER BY table, name"
    ))
    .await
}

#[tokio::test]
async fn the_first_released_schema_migrates_to_the_current_one_with_its_data() {
    let db = first_release_database().await;
    let report = db.store.migrate().await.expect("upgrade");
    let newest = MIGRATIONS.last().unwrap().version;
    assert_eq!(report.applied, (3..=newest).collect::<Vec<_>>());
    assert_eq!(report.current_version, newest);
    assert!(db.store.migrate().await.unwrap().applied.is_empty());

    assert_eq!(db.count("SELECT count() FROM events").await, 5);
    assert_eq!(
        db.count("SELECT toUInt64(sum(sign)) FROM sessions").await,
        3
    );
    let token = db
        .json_rows("SELECT name, scope FROM tokens FINAL WHERE token_hash = '0123abcd'")
        .await;
    assert_eq!(
        token,
        vec![serde_json::json!({"name": "old token", "scope": "read"})]
    );
    let site = db
        .store
        .get_site(SITE)
        .await
        .expect("read site")
        .expect("site kept");
    assert_eq!(site.search_params, vec!["q".to_string()]);

    let fresh = TestDb::new().await;
    assert_eq!(schema_of(&db).await, schema_of(&fresh).await);
    drop(fresh);

    let now = Utc.with_ymd_and_hms(2026, 11, 10, 12, 0, 0).unwrap();
    let app = TestApp::start_on(db, now, &[]).await;
    let (status, body) = app
        .call(
            reqwest::Method::GET,
            Some("test-admin-token"),
            &format!(
                "/api/v1/stats/aggregate?site_id={SITE}&period=custom&date=2026-11-02,2026-11-02\
                 &metrics=visitors,visits,pageviews,events"
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let value = |metric: &str| body["results"][metric]["value"].as_u64();
    assert_eq!(
        (
            value("visitors"),
            value("visits"),
            value("pageviews"),
            value("events")
        ),
        (Some(3), Some(3), Some(4), Some(5)),
        "{body}"
    );
}
