//! `luister import` goes through the same stages as live events: same rows.

use chrono::{DateTime, Duration, Utc};
use luister::import::{import_ndjson, ImportOptions};
use luister_model::Site;
use luister_tests::app::{enrichers, TestApp};
use luister_tests::TestDb;
use serde_json::{json, Value};
use std::collections::HashMap;

const UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

/// (minutes after start, ip, url, name, referrer, props)
fn script() -> Vec<(
    i64,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Value,
)> {
    vec![
        (
            0,
            "192.0.2.1",
            "https://enschede.nl/?utm_source=nieuwsbrief",
            "pageview",
            "https://www.google.nl/",
            json!(null),
        ),
        (
            2,
            "192.0.2.1",
            "https://enschede.nl/zoeken?q=Schuld+hulp",
            "pageview",
            "https://enschede.nl/",
            json!({"results": "0"}),
        ),
        (
            3,
            "192.0.2.1",
            "https://enschede.nl/schulden",
            "Aanvraag verstuurd",
            "",
            json!({"regeling": "schuldhulp"}),
        ),
        (
            40,
            "192.0.2.1",
            "https://enschede.nl/afval",
            "pageview",
            "https://nu.nl/artikel",
            json!(null),
        ),
        (
            41,
            "198.51.100.7",
            "https://enschede.nl/paspoort",
            "pageview",
            "",
            json!(null),
        ),
        (
            60 * 25,
            "192.0.2.1",
            "https://enschede.nl/",
            "pageview",
            "",
            json!(null),
        ),
    ]
}

/// Rows with ids replaced by the order in which they first appear, so runs with
/// different salts compare equal when their structure is the same.
async fn normalised_rows(db: &TestDb) -> Vec<Value> {
    let mut ids: HashMap<(String, String), usize> = HashMap::new();
    let mut rows = db
        .json_rows("SELECT * FROM events ORDER BY timestamp, name")
        .await;
    for row in &mut rows {
        let object = row.as_object_mut().unwrap();
        object.remove("event_id");
        for key in ["visitor_id", "session_id"] {
            let raw = object[key].to_string();
            let next = ids.len();
            let ordinal = *ids.entry((key.to_string(), raw)).or_insert(next);
            object.insert(key.into(), json!(ordinal));
        }
    }
    rows
}

#[tokio::test]
async fn import_gives_the_same_rows_as_live_events() {
    let start = at("2026-11-02T09:00:00Z");
    let site = Site::new("enschede.nl");
    let app = TestApp::start(start, std::slice::from_ref(&site)).await;
    let mut lines = String::new();
    for (minutes, ip, url, name, referrer, props) in script() {
        let when = start + Duration::minutes(minutes);
        app.clock.set(when);
        let body = json!({"n": name, "u": url, "d": "enschede.nl", "r": referrer, "p": props});
        assert_eq!(app.send(&body.to_string(), ip, UA).await.status(), 202);
        let line = json!({
            "timestamp": when.to_rfc3339(), "domain": "enschede.nl", "name": name, "url": url,
            "referrer": referrer, "ip": ip, "user_agent": UA, "props": props,
        });
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    app.flushed().await;
    let live = normalised_rows(&app.db).await;

    let imported = TestDb::new().await;
    imported.store.add_site(&site).await.unwrap();
    lines.push_str("{not json\n");
    lines.push_str(
        r#"{"timestamp":"yesterday","domain":"enschede.nl","url":"https://enschede.nl/"}"#,
    );
    lines.push('\n');
    lines.push_str(
        r#"{"timestamp":"2026-11-02T09:00:00Z","domain":"elders.nl","url":"https://elders.nl/"}"#,
    );
    lines.push('\n');
    let report = import_ndjson(
        &imported.store,
        enrichers(),
        std::io::Cursor::new(lines),
        ImportOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.imported, 6);
    assert_eq!(report.malformed, 2);
    assert_eq!(
        report
            .malformed_lines
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
        vec![7, 8]
    );
    assert_eq!(report.dropped.get("unknown_site"), Some(&1));
    let from_file = normalised_rows(&imported).await;
    assert_eq!(live.len(), 6);
    assert_eq!(live, from_file);
    // The structure itself: one visitor on day one with two visits, another visitor, a new id next day.
    let visitors: Vec<i64> = live
        .iter()
        .map(|r| r["visitor_id"].as_i64().unwrap())
        .collect();
    let sessions: Vec<i64> = live
        .iter()
        .map(|r| r["session_id"].as_i64().unwrap())
        .collect();
    assert_eq!(visitors[0], visitors[3]);
    assert_ne!(sessions[0], sessions[3]);
    assert_ne!(visitors[4], visitors[0]);
    assert_ne!(visitors[5], visitors[0]);
}

/// Visits as the `sessions` table states them (collapsed), sorted.
async fn visits(db: &TestDb) -> Vec<Value> {
    db.json_rows(
        "SELECT toString(session_id) AS s, sum(sign) AS n, sum(sign * pageviews) AS pageviews, \
         sum(sign * events) AS events, sum(sign * interactions) AS interactions, \
         sum(sign * (toInt64(ended_at) - toInt64(started_at))) AS duration \
         FROM sessions GROUP BY session_id HAVING n != 0 ORDER BY s",
    )
    .await
}

#[tokio::test]
async fn sessions_written_at_ingest_equal_sessions_rebuilt_from_events() {
    let start = at("2026-11-02T09:00:00Z");
    let app = TestApp::start(start, &[Site::new("enschede.nl")]).await;
    for (minutes, ip, url, name, referrer, props) in script() {
        app.clock.set(start + Duration::minutes(minutes));
        let body = json!({"n": name, "u": url, "d": "enschede.nl", "r": referrer, "p": props});
        assert_eq!(app.send(&body.to_string(), ip, UA).await.status(), 202);
    }
    app.flushed().await;
    let live = visits(&app.db).await;
    assert_eq!(live.len(), 4, "{live:?}");
    // 64-bit sums come as JSON strings.
    let n = |v: &Value, key: &str| v[key].as_str().and_then(|s| s.parse::<i64>().ok()).unwrap();
    assert!(
        live.iter().all(|v| n(v, "n") == 1),
        "each visit counts once: {live:?}"
    );
    let first = live
        .iter()
        .find(|v| n(v, "events") == 3)
        .expect("the three-event visit");
    assert_eq!(
        (
            n(first, "pageviews"),
            n(first, "interactions"),
            n(first, "duration")
        ),
        (2, 1, 180)
    );
    app.store().rebuild_sessions().await.unwrap();
    assert_eq!(visits(&app.db).await, live);
}
