//! The storage layer against a real ClickHouse: migrations, sites, salts, exactly-once inserts.

use chrono::NaiveDate;
use luister_model::{EventRecord, Site};
use luister_tests::TestDb;

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = TestDb::new().await;
    let again = db.store.migrate().await.unwrap();
    assert!(
        again.applied.is_empty(),
        "second run applied {:?}",
        again.applied
    );
    assert_eq!(
        again.current_version,
        luister_store::schema::MIGRATIONS.last().unwrap().version
    );
}

#[tokio::test]
async fn sites_add_list_remove() {
    let db = TestDb::new().await;
    let mut site = Site::new("enschede.nl");
    site.matomo_id = 7;
    db.store.add_site(&site).await.unwrap();
    assert!(
        db.store.add_site(&site).await.is_err(),
        "duplicate accepted"
    );
    let mut bad = Site::new("Not A Domain");
    assert!(db.store.add_site(&bad).await.is_err());
    bad = Site::new("hoorn.nl");
    bad.timezone = "Mars/Olympus".into();
    assert!(db.store.add_site(&bad).await.is_err());
    assert_eq!(db.store.list_sites().await.unwrap(), vec![site.clone()]);
    db.store.remove_site("enschede.nl").await.unwrap();
    assert!(db.store.list_sites().await.unwrap().is_empty());
    assert!(db.store.get_site("enschede.nl").await.unwrap().is_none());
}

#[tokio::test]
async fn salts_are_shared_and_old_ones_deleted() {
    let db = TestDb::new().await;
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
    let first = db.store.ensure_salt("daily", day(27)).await.unwrap();
    let again = db.store.ensure_salt("daily", day(27)).await.unwrap();
    assert_eq!((first.k0, first.k1), (again.k0, again.k1));
    let other = db.store.ensure_salt("daily", day(28)).await.unwrap();
    assert_ne!((first.k0, first.k1), (other.k0, other.k1));
    db.store.ensure_salt("daily", day(29)).await.unwrap();
    db.store.ensure_salt("weekly", day(23)).await.unwrap();
    let dropped = db
        .store
        .delete_salts_before("daily", day(28))
        .await
        .unwrap();
    assert_eq!(dropped, 1);
    let left: Vec<NaiveDate> = db
        .store
        .list_salts()
        .await
        .unwrap()
        .iter()
        .map(|s| s.period_start_date())
        .collect();
    assert_eq!(left, vec![day(28), day(29), day(23)]);
}

/// Two collectors that start together may each write a salt for the same day: every
/// reader must pick the same one, the oldest, or one visitor gets two ids.
#[tokio::test]
async fn a_raced_salt_resolves_to_the_oldest_everywhere() {
    let db = TestDb::new().await;
    let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
    let first = db.store.ensure_salt("daily", day).await.unwrap();
    let later = first.created_ns + 1_000_000;
    db.store
        .client()
        .query(&format!(
            "INSERT INTO salts (rotation, period_start, k0, k1, created_ns) VALUES ('daily', '2026-11-27', 1, 2, {later})"
        ))
        .execute()
        .await
        .unwrap();
    let earlier = first.created_ns - 1_000_000;
    db.store
        .client()
        .query(&format!(
            "INSERT INTO salts (rotation, period_start, k0, k1, created_ns) VALUES ('daily', '2026-11-27', 3, 4, {earlier})"
        ))
        .execute()
        .await
        .unwrap();
    let listed = db.store.list_salts().await.unwrap();
    assert_eq!(listed.len(), 1, "one salt per day");
    let ensured = db.store.ensure_salt("daily", day).await.unwrap();
    assert_eq!((listed[0].k0, listed[0].k1), (3, 4), "the oldest row wins");
    assert_eq!(
        (ensured.k0, ensured.k1),
        (3, 4),
        "ensure_salt agrees with the list"
    );
}

fn record(event_id: u64, timestamp: u32) -> EventRecord {
    EventRecord {
        site_id: "enschede.nl".into(),
        timestamp,
        event_id,
        name: "pageview".into(),
        pathname: "/".into(),
        props_key: vec!["a".into()],
        props_value: vec!["b".into()],
        search_results: -1,
        scroll_depth: 255,
        ..Default::default()
    }
}

#[tokio::test]
async fn retried_insert_stores_each_event_once() {
    let db = TestDb::new().await;
    // Two months, so the insert spans two partitions.
    let batch: Vec<EventRecord> = (0..50)
        .map(|i| record(i + 1, 1_761_955_200 + (i as u32) * 86_400))
        .collect();
    assert_eq!(
        db.store.insert_events(&batch[..20], false).await.unwrap(),
        20
    );
    // A retry of the whole batch (the first attempt's outcome unknown) adds only the rest.
    assert_eq!(db.store.insert_events(&batch, true).await.unwrap(), 30);
    assert_eq!(db.store.insert_events(&batch, true).await.unwrap(), 0);
    let count: u64 = db
        .store
        .client()
        .query("SELECT count() FROM events")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(count, 50);
    let props: Vec<String> = db
        .store
        .client()
        .query("SELECT props.value[1] FROM events LIMIT 1")
        .fetch_all()
        .await
        .unwrap();
    assert_eq!(props, vec!["b".to_string()]);
}
