//! The live event path over real HTTP into a real ClickHouse.

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_tests::app::TestApp;
use serde_json::Value;

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

/// Events as JSON objects, for assertions on any column.
async fn rows(app: &TestApp, columns: &str) -> Vec<Value> {
    app.db
        .json_rows(&format!(
            "SELECT {columns} FROM events ORDER BY timestamp, pathname, name"
        ))
        .await
}

#[tokio::test]
async fn every_accepted_shape_becomes_a_row() {
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[Site::new("enschede.nl")]).await;
    let long = r#"{"name":"pageview","url":"https://enschede.nl/schulden?utm_source=nieuwsbrief&bsn=x","domain":"enschede.nl","referrer":"https://www.google.nl/"}"#;
    let short = r#"{"n":"Aanvraag verstuurd","u":"https://enschede.nl/schulden/aanvragen","d":"enschede.nl","p":{"regeling":"schuldhulp","mail":"jan@example.nl"},"$":{"amount":"12.50","currency":"EUR"},"i":false}"#;
    assert_eq!(app.send(long, "192.0.2.10", FIREFOX).await.status(), 202);
    let json = app
        .http
        .post(format!("{}/api/event", app.base))
        .header("content-type", "application/json")
        .header("x-forwarded-for", "192.0.2.10")
        .header("user-agent", FIREFOX)
        .body(short)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 202);
    app.flushed().await;
    let got = rows(&app, "name, pathname, referrer_source, utm_source, browser, os, device, props.key, props.value, value_cents, currency, interactive").await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["name"], "pageview");
    assert_eq!(got[0]["pathname"], "/schulden");
    assert_eq!(got[0]["utm_source"], "nieuwsbrief");
    assert_eq!(got[0]["browser"], "Firefox");
    assert_eq!(got[0]["os"], "Windows");
    assert_eq!(got[0]["device"], "Desktop");
    assert_eq!(got[1]["name"], "Aanvraag verstuurd");
    assert_eq!(got[1]["props.key"], serde_json::json!(["regeling", "mail"]));
    assert_eq!(
        got[1]["props.value"],
        serde_json::json!(["schuldhulp", "[email]"])
    );
    assert_eq!(got[1]["value_cents"], "1250");
    assert_eq!(got[1]["currency"], "EUR");
    assert_eq!(got[1]["interactive"], 0);
}

#[tokio::test]
async fn bots_unknown_sites_and_bad_bodies_are_not_stored() {
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[Site::new("enschede.nl")]).await;
    let body = r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#;
    assert_eq!(
        app.send(body, "192.0.2.1", GOOGLEBOT).await.status(),
        202,
        "bots are dropped silently"
    );
    let unknown = app
        .send(
            r#"{"n":"pageview","u":"https://hengelo.nl/","d":"hengelo.nl"}"#,
            "192.0.2.1",
            FIREFOX,
        )
        .await;
    assert_eq!(unknown.status(), 400);
    let error: Value = unknown.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("unknown site"),
        "{error}"
    );
    for bad in [
        "",
        "{",
        "[]",
        r#"{"n":"x"}"#,
        r#"{"n":"x","u":"ftp://enschede.nl/","d":"enschede.nl"}"#,
    ] {
        let response = app.send(bad, "192.0.2.1", FIREFOX).await;
        assert_eq!(response.status(), 400, "body {bad:?}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].is_string());
    }
    let huge = format!(
        r#"{{"n":"x","u":"https://enschede.nl/","d":"enschede.nl","p":{{"a":"{}"}}}}"#,
        "x".repeat(70_000)
    );
    assert_eq!(app.send(&huge, "192.0.2.1", FIREFOX).await.status(), 413);
    assert_eq!(app.send(body, "192.0.2.1", FIREFOX).await.status(), 202);
    app.flushed().await;
    assert_eq!(rows(&app, "name").await.len(), 1);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("luister_events_dropped_total{reason=\"unknown_site\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("luister_events_dropped_total{reason=\"malformed\"}"));
    assert!(metrics.contains(
        "luister_http_requests_total{method=\"POST\",route=\"/api/event\",status=\"2xx\"}"
    ));
}

#[tokio::test]
async fn visitors_and_sessions_follow_ip_agent_site_day_and_gaps() {
    let mut lelystad = Site::new("lelystad.nl");
    lelystad.timezone = "Europe/Amsterdam".into();
    let app = TestApp::start(
        at("2026-11-02T10:00:00Z"),
        &[Site::new("enschede.nl"), lelystad],
    )
    .await;
    let page = |domain: &str, path: &str| {
        format!(r#"{{"n":"pageview","u":"https://{domain}{path}","d":"{domain}"}}"#)
    };
    let send = |domain: &'static str, path: &'static str, ip: &'static str, ua: &'static str| {
        let body = page(domain, path);
        let app = &app;
        async move { assert_eq!(app.send(&body, ip, ua).await.status(), 202) }
    };
    send("enschede.nl", "/a", "192.0.2.1", FIREFOX).await; // visitor A, session 1
    app.clock.set(at("2026-11-02T10:29:00Z"));
    send("enschede.nl", "/b", "192.0.2.1", FIREFOX).await; // A, session 1 (29 min)
    send("enschede.nl", "/c", "192.0.2.1", IPHONE).await; // other UA: visitor B
    send("enschede.nl", "/d", "192.0.2.2", FIREFOX).await; // other IP: visitor C
    send("lelystad.nl", "/e", "192.0.2.1", FIREFOX).await; // other site: visitor D
    app.clock.set(at("2026-11-02T11:00:00Z"));
    send("enschede.nl", "/f", "192.0.2.1", FIREFOX).await; // A after 31 min: session 2
    app.clock.set(at("2026-11-03T12:00:00Z"));
    send("enschede.nl", "/g", "192.0.2.1", FIREFOX).await; // next day: new visitor E
    app.flushed().await;
    let got = rows(
        &app,
        "pathname, toString(visitor_id) AS v, toString(session_id) AS s",
    )
    .await;
    let by_path = |p: &str| {
        got.iter()
            .find(|r| r["pathname"] == p)
            .unwrap_or_else(|| panic!("{p} missing in {got:?}"))
    };
    let (a, b, c, d, f, g) = (
        by_path("/a"),
        by_path("/b"),
        by_path("/c"),
        by_path("/d"),
        by_path("/f"),
        by_path("/g"),
    );
    let e = by_path("/e");
    assert_eq!(a["v"], b["v"]);
    assert_eq!(a["s"], b["s"]);
    assert_ne!(a["v"], c["v"]);
    assert_ne!(a["v"], d["v"]);
    assert_ne!(a["v"], e["v"]);
    assert_eq!(a["v"], f["v"]);
    assert_ne!(a["s"], f["s"], "31-minute gap must start a new session");
    assert_ne!(a["v"], g["v"], "a new day must give a new visitor id");
}

#[tokio::test]
async fn session_open_at_midnight_continues_and_old_salts_are_deleted() {
    let app = TestApp::start(at("2026-11-02T23:50:00Z"), &[Site::new("enschede.nl")]).await;
    let body = r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#;
    app.send(body, "192.0.2.1", FIREFOX).await;
    let salt_of_2_november = app
        .store()
        .list_salts()
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.rotation == "daily" && s.period_start_date().to_string() == "2026-11-02")
        .expect("salt of the day");
    app.clock.set(at("2026-11-03T00:05:00Z"));
    app.send(body, "192.0.2.1", FIREFOX).await;
    app.flushed().await;
    let got = rows(&app, "toString(visitor_id) AS v, toString(session_id) AS s").await;
    assert_eq!(got[0], got[1], "a visit across midnight stays one visit");
    // Two days later the salt of 2 November is gone.
    app.clock.set(at("2026-11-05T08:00:00Z"));
    app.send(body, "192.0.2.1", FIREFOX).await;
    let mut app = app;
    app.restart_server().await;
    let days: Vec<String> = app
        .store()
        .list_salts()
        .await
        .unwrap()
        .iter()
        .filter(|s| s.rotation == "daily")
        .map(|s| s.period_start_date().to_string())
        .collect();
    assert!(
        !days.iter().any(|d| d.as_str() < "2026-11-04"),
        "old salts kept: {days:?}"
    );
    assert!(days.contains(&"2026-11-05".to_string()));
    // Its key is in no table and no active part any more (48 hours after its day began).
    let columns = app
        .db
        .json_rows("SELECT table, name FROM system.columns WHERE database = currentDatabase() AND type = 'UInt64'")
        .await;
    for column in &columns {
        let (table, name) = (
            column["table"].as_str().unwrap(),
            column["name"].as_str().unwrap(),
        );
        let found: u64 = app
            .store()
            .client()
            .query(&format!(
                "SELECT count() FROM `{table}` WHERE `{name}` IN (?, ?)"
            ))
            .bind(salt_of_2_november.k0)
            .bind(salt_of_2_november.k1)
            .fetch_one()
            .await
            .unwrap();
        assert_eq!(found, 0, "the old salt's key is in {table}.{name}");
    }
    let old_parts: u64 = app
        .store()
        .client()
        .query("SELECT count() FROM system.parts WHERE database = currentDatabase() AND table = 'salts' AND active AND partition LIKE '%daily%' AND (partition LIKE '%20261102%' OR partition LIKE '%20261103%')")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(old_parts, 0);
}

#[tokio::test]
async fn no_ip_address_or_user_agent_is_stored_anywhere() {
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[Site::new("enschede.nl")]).await;
    let body = r#"{"n":"pageview","u":"https://enschede.nl/zoeken?q=jan@example.nl","d":"enschede.nl","r":"https://www.google.nl/search?q=x"}"#;
    app.send(body, "203.0.113.77", FIREFOX).await;
    app.send(r#"{"n":"search","u":"https://enschede.nl/","d":"enschede.nl","p":{"query":"Schuld  Hulp","results":0}}"#, "2001:db8::77", IPHONE).await;
    app.flushed().await;
    let tables = app
        .db
        .json_rows("SELECT table, name FROM system.columns WHERE database = currentDatabase() AND type LIKE '%String%'")
        .await;
    assert!(tables.len() > 20);
    for needle in [
        "203.0.113.77",
        "2001:db8::77",
        "Gecko/20100101",
        "iPhone OS 17_5",
        "jan@example.nl",
    ] {
        for column in &tables {
            let (table, name) = (
                column["table"].as_str().unwrap(),
                column["name"].as_str().unwrap(),
            );
            let sql = format!(
                "SELECT count() FROM `{table}` WHERE position(toString(`{name}`), '{needle}') > 0"
            );
            let count: u64 = app.store().client().query(&sql).fetch_one().await.unwrap();
            assert_eq!(count, 0, "{needle} found in {table}.{name}");
        }
    }
    let terms = rows(&app, "search_term, search_results").await;
    assert_eq!(terms[0]["search_term"], "schuld hulp");
    assert_eq!(terms[0]["search_results"], 0);
    assert_eq!(terms[1]["search_term"], "[verwijderd]");
}

#[tokio::test]
async fn ops_endpoints_and_tracker_script() {
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[]).await;
    let health = app
        .http
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = app
        .http
        .get(format!("{}/ready", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["clickhouse"], "ok");
    assert_eq!(ready["spool"], "ok");
    let script = app
        .http
        .get(format!("{}/js/script.js", app.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert_eq!(script.headers()["content-encoding"], "gzip");
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/javascript"));
    let etag = script.headers()["etag"].to_str().unwrap().to_string();
    assert!(script.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let again = app
        .http
        .get(format!("{}/js/script.js", app.base))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let versioned = luister_server::versioned_path("script").unwrap();
    let long = app
        .http
        .get(format!("{}{versioned}", app.base))
        .send()
        .await
        .unwrap();
    assert!(long.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(
        app.http
            .get(format!("{}/js/nope.js", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let metrics = app.metrics().await;
    for name in [
        "luister_events_received_total",
        "luister_spool_events",
        "luister_flush_duration_seconds",
        "luister_batch_size_events",
    ] {
        assert!(metrics.contains(name), "{name} missing");
    }
}

#[tokio::test]
async fn weekly_rotation_keeps_a_visitor_from_monday_to_wednesday() {
    let mut weekly = Site::new("weekly.nl");
    weekly.salt_rotation = luister_model::SaltRotation::Weekly;
    let app = TestApp::start(at("2026-11-23T09:00:00Z"), &[weekly, Site::new("daily.nl")]).await;
    for (when, path) in [
        ("2026-11-23T09:00:00Z", "/maandag"),
        ("2026-11-25T15:00:00Z", "/woensdag"),
        ("2026-11-30T09:00:00Z", "/volgende-week"),
    ] {
        app.clock.set(at(when));
        for domain in ["weekly.nl", "daily.nl"] {
            let body = format!(r#"{{"n":"pageview","u":"https://{domain}{path}","d":"{domain}"}}"#);
            assert_eq!(app.send(&body, "192.0.2.9", FIREFOX).await.status(), 202);
        }
    }
    app.flushed().await;
    let visitors = |site: &str| {
        let site = site.to_string();
        let app = &app;
        async move {
            app.db
                .json_rows(&format!("SELECT pathname, toString(visitor_id) AS v FROM events WHERE site_id = '{site}' ORDER BY timestamp"))
                .await
                .into_iter()
                .map(|r| r["v"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    let weekly = visitors("weekly.nl").await;
    assert_eq!(
        weekly[0], weekly[1],
        "Monday and Wednesday are one visitor with weekly salts"
    );
    assert_ne!(weekly[1], weekly[2], "a new week is a new visitor");
    let daily = visitors("daily.nl").await;
    assert_ne!(
        daily[0], daily[1],
        "daily salts separate Monday and Wednesday"
    );
}

/// A site added while the server runs (another process, the dashboard) takes events at
/// once, long before the periodic refresh of the site list.
#[tokio::test]
async fn a_site_added_while_serving_takes_events_at_once() {
    let app = TestApp::start_tweaked(
        luister_tests::TestDb::new().await,
        at("2026-11-02T10:00:00Z"),
        &[Site::new("enschede.nl")],
        |s| s.site_refresh = std::time::Duration::from_secs(3600),
    )
    .await;
    let body = r#"{"n":"pageview","u":"https://nieuw.nl/","d":"nieuw.nl"}"#;
    let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    assert_eq!(
        app.send(body, "192.0.2.9", ua).await.status(),
        400,
        "unknown before it is added"
    );
    app.store().add_site(&Site::new("nieuw.nl")).await.unwrap();
    // Within the few seconds a miss is remembered the answer may still be "unknown"; then it is taken.
    let started = std::time::Instant::now();
    let mut status = 0;
    while started.elapsed() < std::time::Duration::from_secs(8) {
        status = app.send(body, "192.0.2.9", ua).await.status().as_u16();
        if status == 202 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(
        status, 202,
        "taken within the negative-cache time, not the hour-long refresh"
    );
    // A site that was never looked up before is taken on its very first event.
    app.store().add_site(&Site::new("later.nl")).await.unwrap();
    let first = app
        .send(
            r#"{"n":"pageview","u":"https://later.nl/","d":"later.nl"}"#,
            "192.0.2.9",
            ua,
        )
        .await;
    assert_eq!(first.status(), 202);
}
