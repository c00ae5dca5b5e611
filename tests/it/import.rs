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

/// The demo history once as NDJSON and once as the access log a web server would have
/// written of it (with the assets, redirects, errors, other methods and a crawler that
/// such a log also holds): the same reports.
#[tokio::test]
async fn an_access_log_of_the_same_history_gives_the_same_reports() {
    use luister::demo::{generate, DemoSpec};
    use luister::import::{import, LineFormat};

    let now = at("2026-11-30T12:00:00Z");
    let app = TestApp::start(now, &[Site::new("enschede.nl"), Site::new("hengelo.nl")]).await;
    let spec = DemoSpec {
        domain: "enschede.nl".into(),
        days: 7,
        visits_per_day: 80,
        end: now - Duration::days(1),
        seed: 11,
    };
    let pageviews: Vec<_> = generate(&spec).filter(|l| l.name == "pageview").collect();
    let ndjson: Vec<String> = pageviews
        .iter()
        .map(|l| serde_json::to_string(l).unwrap())
        .collect();
    let from_ndjson = import_ndjson(
        &app.db.store,
        enrichers(),
        ndjson.join("\n").as_bytes(),
        ImportOptions::default(),
    )
    .await
    .unwrap();

    // Amsterdam's winter offset, as the server's local time.
    let offset = chrono::FixedOffset::east_opt(3600).unwrap();
    let mut log = Vec::new();
    let mut noise: HashMap<&str, u64> = HashMap::new();
    for (n, l) in pageviews.iter().enumerate() {
        let time = DateTime::parse_from_rfc3339(l.timestamp.as_str().unwrap())
            .unwrap()
            .with_timezone(&offset)
            .format("%d/%b/%Y:%H:%M:%S %z");
        let ip = l.ip.as_deref().unwrap();
        let ua = l.user_agent.as_deref().unwrap();
        let moved = |text: &str| text.replace("enschede.nl", "hengelo.nl");
        let referrer = l.referrer.as_deref().map(moved).unwrap_or("-".into());
        let path = l.url.strip_prefix("https://enschede.nl").unwrap();
        let entry = |request: &str, status: u16, referrer: &str, ua: &str| {
            format!("hengelo.nl:443 {ip} - - [{time}] \"{request} HTTP/1.1\" {status} 2326 \"{referrer}\" \"{ua}\"")
        };
        log.push(entry(
            &format!("GET {path}"),
            if n % 9 == 0 { 304 } else { 200 },
            &referrer,
            ua,
        ));
        let page = format!("https://hengelo.nl{path}");
        for (every, request, status, reason) in [
            (1, "GET /css/site.css?v=4", 200, "not_html"),
            (3, "GET /img/logo.svg", 304, "not_html"),
            (7, "GET /oud-adres", 301, "redirect"),
            (11, "GET /bestaat-niet", 404, "status_4xx"),
            (13, "POST /formulier", 200, "not_get"),
            (17, "HEAD /", 200, "not_get"),
            (19, "GET /", 502, "status_5xx"),
        ] {
            if n % every == 0 {
                log.push(entry(request, status, &page, ua));
                *noise.entry(reason).or_default() += 1;
            }
        }
        if n % 23 == 0 {
            let bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
            log.push(entry(&format!("GET {path}"), 200, "-", bot));
            *noise.entry("spider").or_default() += 1;
        }
    }
    let from_log = import(
        &app.db.store,
        enrichers(),
        log.join("\n").as_bytes(),
        &LineFormat::Combined { site: None },
        ImportOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(from_log.imported, from_ndjson.imported, "{from_log:?}");
    assert_eq!(from_log.malformed, 0, "{from_log:?}");
    for (reason, count) in &noise {
        let dropped: u64 = from_log
            .dropped
            .iter()
            .filter(|(r, _)| r.starts_with(reason))
            .map(|(r, c)| c - from_ndjson.dropped.get(r).copied().unwrap_or(0))
            .sum();
        assert_eq!(dropped, *count, "{reason}: {from_log:?}");
    }

    let range = "period=custom&date=2026-11-22,2026-11-29";
    let app = &app;
    let ask = |site: &str, path: &str| {
        let url = format!(
            "{path}{}site_id={site}&{range}",
            if path.contains('?') { "&" } else { "?" }
        );
        async move {
            app.call(reqwest::Method::GET, Some("test-admin-token"), &url, None)
                .await
        }
    };
    let reports = [
        "/api/v1/stats/aggregate?metrics=visitors,visits,pageviews,bounce_rate,visit_duration,views_per_visit",
        "/api/v1/stats/breakdown?property=event:page&metrics=visitors,pageviews,bounce_rate&limit=100",
        "/api/v1/stats/breakdown?property=visit:entry_page&metrics=visitors,visits&limit=100",
        "/api/v1/stats/breakdown?property=visit:source&metrics=visitors,visits&limit=100",
        "/api/v1/stats/breakdown?property=visit:browser&metrics=visitors&limit=100",
        "/api/v1/stats/breakdown?property=visit:country&metrics=visitors&limit=100",
        "/api/v1/stats/timeseries?metrics=visitors,pageviews&interval=date",
    ];
    for report in reports {
        let (a_status, a) = ask("enschede.nl", report).await;
        let (b_status, b) = ask("hengelo.nl", report).await;
        assert_eq!((a_status, b_status), (200, 200), "{report}: {a} {b}");
        assert_eq!(a, b, "{report}");
    }
    let (_, visitors) = ask("hengelo.nl", reports[0]).await;
    assert!(
        visitors["results"]["visitors"]["value"].as_u64().unwrap() > 300,
        "{visitors}"
    );
    // Site search: the terms and how often; result counts are not in a log.
    let terms = |body: Value| -> Vec<(String, u64, u64)> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["term"].as_str().unwrap().to_string(),
                    r["searches"].as_u64().unwrap(),
                    r["visitors"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (_, a) = ask("enschede.nl", "/api/v1/search/terms?limit=100").await;
    let (_, b) = ask("hengelo.nl", "/api/v1/search/terms?limit=100").await;
    assert!(!terms(a.clone()).is_empty());
    assert_eq!(terms(a), terms(b));
}

/// A byte that is not UTF-8 in one line of a log does not stop the import halfway.
#[tokio::test]
async fn a_stray_byte_does_not_stop_an_access_log_import() {
    use luister::import::{import, LineFormat};
    let app = TestApp::start(at("2026-11-30T12:00:00Z"), &[Site::new("enschede.nl")]).await;
    let line = |path: &str, ua_tail: &[u8]| {
        let mut bytes = format!(
            "192.0.2.5 - - [02/Nov/2026:10:00:00 +0100] \"GET {path} HTTP/1.1\" 200 1 \"-\" \"{UA}"
        )
        .into_bytes();
        bytes.extend_from_slice(ua_tail);
        bytes.extend_from_slice(b"\"\n");
        bytes
    };
    let log = [line("/a", b""), line("/b", b" \xff\xfe"), line("/c", b"")].concat();
    let report = import(
        &app.db.store,
        enrichers(),
        &log[..],
        &LineFormat::Combined {
            site: Some("enschede.nl".into()),
        },
        ImportOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (report.lines, report.imported, report.malformed),
        (3, 3, 0),
        "{report:?}"
    );
}
