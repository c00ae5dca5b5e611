//! The collector and API against an attacker: each defect found by probing, closed and
//! kept closed (decompression bombs, personal data in every field, forged addresses,
//! label floods, scopes, caps, cascades, limits).

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_store::TokenScope;
use luister_tests::app::TestApp;
use luister_tests::TestDb;
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::time::Duration;

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const ADMIN: &str = "test-admin-token";
const SITE: &str = "enschede.nl";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z")
        .unwrap()
        .into()
}

async fn app() -> TestApp {
    TestApp::start(now(), &[Site::new(SITE), Site::new("hoorn.nl")]).await
}

/// Peak resident memory of this test process (nextest runs each test in its own).
fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap();
    kib / 1024
}

/// 60 MB of zeros in each encoding a client might name.
fn bombs() -> Vec<(&'static str, Vec<u8>)> {
    let zeros = vec![0u8; 60 << 20];
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&zeros).unwrap();
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&zeros).unwrap();
    let mut br = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        writer.write_all(&zeros).unwrap();
    }
    vec![
        ("gzip", gzip.finish().unwrap()),
        ("deflate", deflate.finish().unwrap()),
        ("br", br),
        ("zstd", zstd_zeros(60 << 20)),
    ]
}

/// A zstd frame of `len` zero bytes made of RLE blocks (no zstd library needed).
fn zstd_zeros(len: usize) -> Vec<u8> {
    const BLOCK: usize = 128 << 10;
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x38]; // magic, no flags, 128 KiB window
    let mut left = len;
    while left > 0 {
        let size = left.min(BLOCK);
        left -= size;
        let header = (size << 3) | (1 << 1) | usize::from(left == 0);
        frame.extend_from_slice(&header.to_le_bytes()[..3]);
        frame.push(0);
    }
    frame
}

#[tokio::test]
async fn compressed_bodies_are_refused_before_they_are_inflated() {
    let app = app().await;
    let routes = [
        "/api/event",
        "/matomo.php",
        "/piwik.php",
        "/api/v1/funnels/query",
        "/api/luister/v1/sites",
        "/api/luister/v1/sites/enschede.nl/goals",
        "/api/luister/v1/sites/enschede.nl/funnels",
    ];
    let bombs = bombs();
    for (_, body) in &bombs {
        assert!(body.len() < 200 << 10, "a bomb is small on the wire");
    }
    // Warm up the server's allocations before measuring.
    assert_eq!(
        app.send(
            r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#,
            "192.0.2.1",
            FIREFOX
        )
        .await
        .status(),
        202
    );
    let before = peak_rss_mib();
    for route in routes {
        for (encoding, body) in &bombs {
            let requests = (0..8)
                .map(|_| {
                    app.http
                        .post(format!("{}{route}", app.base))
                        .bearer_auth(ADMIN)
                        .header("content-type", "application/json")
                        .header("content-encoding", *encoding)
                        .body(body.clone())
                })
                .collect();
            for response in all_at_once(requests).await {
                assert_eq!(response.status(), 415, "{route} {encoding}");
                let text = response.text().await.unwrap();
                assert!(text.contains("not accepted"), "{text}");
            }
        }
    }
    let growth = peak_rss_mib().saturating_sub(before);
    assert!(growth < 64, "peak RSS grew by {growth} MiB");
    // An uncompressed body still works, and `identity` is no compression.
    let response = app
        .http
        .post(format!("{}/api/event", app.base))
        .header("content-encoding", "identity")
        .header("x-forwarded-for", "192.0.2.2")
        .header("user-agent", FIREFOX)
        .body(r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}

/// Sends all requests at once and waits for every answer.
async fn all_at_once(requests: Vec<reqwest::RequestBuilder>) -> Vec<reqwest::Response> {
    let handles: Vec<_> = requests
        .into_iter()
        .map(|r| tokio::spawn(r.send()))
        .collect();
    let mut responses = Vec::new();
    for handle in handles {
        responses.push(handle.await.unwrap().unwrap());
    }
    responses
}

/// Percent-encodes a query value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Personal data in every field a tracker can fill; none of it may be stored.
const EMAIL: &str = "jan.jansen@example.nl";
const PHONE: &str = "0612345678";
const BSN: &str = "111222333";
const IBAN: &str = "NL91ABNA0417164300";
const ADDRESS: &str = "7511 JN 12";

#[tokio::test]
async fn personal_data_is_scrubbed_from_every_stored_field() {
    let mut site = Site::new(SITE);
    site.allowed_params = vec!["id".into()];
    site.matomo_id = 7;
    let app = TestApp::start(now(), &[site]).await;
    let plausible = [
        json!({"n": format!("Mail {EMAIL}"), "u": format!("https://enschede.nl/klant/{BSN}?id={PHONE}&utm_source={EMAIL}&utm_medium={PHONE}&utm_campaign={IBAN}&utm_content={ADDRESS}&utm_term={BSN}"),
               "d": SITE, "r": format!("https://partner.example/{EMAIL}/{IBAN}?x={PHONE}"),
               "p": {format!("tel {PHONE}"): format!("iban {IBAN}"), format!("key {EMAIL}"): ADDRESS}}),
        json!({"n": "Outbound Link: Click", "u": "https://enschede.nl/", "d": SITE,
               "p": {"url": format!("https://bank.example/pay?session={PHONE}&mail={EMAIL}#{BSN}")}}),
        json!({"n": "File Download", "u": "https://enschede.nl/", "d": SITE,
               "p": {"url": format!("https://enschede.nl/{IBAN}.pdf?token=abc{BSN}")}}),
        json!({"n": "search", "u": "https://enschede.nl/zoeken", "d": SITE,
               "p": {"query": format!("{EMAIL} {PHONE}"), "results": 0}}),
        json!({"n": "pageview", "u": format!("https://enschede.nl/zoeken?q={ADDRESS}%20{IBAN}"), "d": SITE}),
    ];
    for (i, body) in plausible.iter().enumerate() {
        let response = app
            .send(&body.to_string(), &format!("192.0.2.{}", i + 1), FIREFOX)
            .await;
        assert_eq!(response.status(), 202, "{body}");
    }
    let matomo = [
        format!(
            "e_c={}&e_a={}&e_n={}&e_v=1",
            enc(&format!("Form {EMAIL}")),
            enc(&format!("send {PHONE}")),
            enc(IBAN)
        ),
        format!(
            "link={}",
            enc(&format!(
                "https://bank.example/login?session={BSN}&u={EMAIL}"
            ))
        ),
        format!(
            "download={}",
            enc(&format!(
                "https://enschede.nl/docs/{ADDRESS}.pdf?sig={PHONE}"
            ))
        ),
        format!("search={}&search_count=0", enc(&format!("{EMAIL} huur"))),
        format!("action_name={}", enc(&format!("Titel {EMAIL}"))),
    ];
    for (i, query) in matomo.iter().enumerate() {
        let url = format!(
            "{}/matomo.php?idsite=7&rec=1&url={}&urlref={}&{query}",
            app.base,
            enc(&format!("https://enschede.nl/p/{EMAIL}?id={BSN}")),
            enc(&format!("https://www.google.nl/{PHONE}")),
        );
        let response = app
            .http
            .get(url)
            .header("x-forwarded-for", format!("198.51.100.{}", i + 1))
            .header("user-agent", FIREFOX)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{query}: {}",
            response.status()
        );
    }
    app.flushed().await;
    let stored = app.db.count("SELECT count() FROM events").await;
    assert_eq!(stored, 10);
    let columns = app
        .db
        .json_rows("SELECT table, name FROM system.columns WHERE database = currentDatabase() AND type LIKE '%String%'")
        .await;
    let needles = [
        EMAIL.to_string(),
        "jan.jansen".to_string(),
        PHONE.to_string(),
        BSN.to_string(),
        IBAN.to_string(),
        ADDRESS.to_string(),
        "7511 jn 12".to_string(),
        "session=".to_string(),
        "token=".to_string(),
        "sig=".to_string(),
    ];
    for needle in &needles {
        for column in &columns {
            let (table, name) = (
                column["table"].as_str().unwrap(),
                column["name"].as_str().unwrap(),
            );
            let sql = format!(
                "SELECT count() FROM `{table}` WHERE positionCaseInsensitive(toString(`{name}`), ?) > 0"
            );
            let count: u64 = app
                .store()
                .client()
                .query(&sql)
                .bind(needle.as_str())
                .fetch_one()
                .await
                .unwrap();
            assert_eq!(count, 0, "{needle} found in {table}.{name}");
        }
    }
    let names = app
        .db
        .json_rows("SELECT name FROM events WHERE name LIKE '%[email]%' ORDER BY name")
        .await;
    assert_eq!(
        names,
        vec![
            json!({"name": "Form [email]: send [telefoon]"}),
            json!({"name": "Mail [email]"})
        ]
    );
    let links = app
        .db
        .json_rows("SELECT props.value AS v FROM events WHERE name IN ('Outbound Link: Click', 'File Download') ORDER BY name, v")
        .await;
    let links: Vec<&str> = links
        .iter()
        .flat_map(|r| r["v"].as_array().unwrap().iter())
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(links.contains(&"https://bank.example/pay"), "{links:?}");
    assert!(
        links.contains(&"https://enschede.nl/[iban].pdf"),
        "{links:?}"
    );
}

#[tokio::test]
async fn a_request_names_each_domain_once_and_at_most_ten() {
    let app = app().await;
    let repeated = vec![SITE; 50].join(",");
    let body = format!(r#"{{"n":"pageview","u":"https://enschede.nl/","d":"{repeated}"}}"#);
    assert_eq!(app.send(&body, "192.0.2.1", FIREFOX).await.status(), 202);
    let many: Vec<String> = (0..11).map(|i| format!("s{i}.nl")).collect();
    let body = format!(
        r#"{{"n":"pageview","u":"https://enschede.nl/","d":"{SITE},{}"}}"#,
        many.join(",")
    );
    let refused = app.send(&body, "192.0.2.1", FIREFOX).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("more than 10"));
    app.flushed().await;
    let stored = app.db.count("SELECT count() FROM events").await;
    assert_eq!(stored, 1);
    assert!(app
        .metrics()
        .await
        .contains("luister_events_dropped_total{reason=\"too_many_domains\"} 1"));
}

#[tokio::test]
async fn pages_of_other_hosts_are_dropped_and_counted() {
    let app = app().await;
    let foreign = app
        .send(
            r#"{"n":"pageview","u":"https://kopie.example/","d":"enschede.nl"}"#,
            "192.0.2.1",
            FIREFOX,
        )
        .await;
    assert_eq!(foreign.status(), 400);
    assert!(foreign.text().await.unwrap().contains("does not belong"));
    let subdomain = app
        .send(
            r#"{"n":"pageview","u":"https://loket.enschede.nl/","d":"enschede.nl"}"#,
            "192.0.2.1",
            FIREFOX,
        )
        .await;
    assert_eq!(subdomain.status(), 202);
    assert!(app
        .metrics()
        .await
        .contains("luister_events_dropped_total{reason=\"foreign_host\"} 1"));
}

#[tokio::test]
async fn metric_labels_come_from_fixed_sets() {
    let app = app().await;
    for i in 1..=50 {
        let method = Method::from_bytes(format!("PROBE{i}").as_bytes()).unwrap();
        app.http
            .request(method, format!("{}/health", app.base))
            .send()
            .await
            .unwrap();
        app.http
            .get(format!("{}/scan/{i}", app.base))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.metrics().await;
    assert!(!metrics.contains("PROBE"), "{metrics}");
    assert!(!metrics.contains("/scan/"), "{metrics}");
    assert!(metrics.contains(r#"method="other""#));
    let series = metrics
        .lines()
        .filter(|l| l.starts_with("luister_http_requests_total{"))
        .count();
    assert!(series <= 6, "{series} series:\n{metrics}");
}

#[tokio::test]
async fn a_client_cannot_choose_its_address_behind_a_proxy() {
    let app = app().await;
    // The proxy (127.0.0.1, trusted) appends its own header line after the client's forged one.
    for forged in ["6.6.6.6", "7.7.7.7", "8.8.8.8"] {
        let response = app
            .http
            .post(format!("{}/api/event", app.base))
            .header("x-forwarded-for", forged)
            .header("x-forwarded-for", "198.51.100.7")
            .header("user-agent", FIREFOX)
            .body(r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
    }
    app.send(
        r#"{"n":"pageview","u":"https://enschede.nl/b","d":"enschede.nl"}"#,
        "198.51.100.7",
        FIREFOX,
    )
    .await;
    app.flushed().await;
    let visitors = app
        .db
        .count("SELECT uniqExact(visitor_id) FROM events")
        .await;
    assert_eq!(visitors, 1);
}

#[tokio::test]
async fn tokens_act_only_within_their_scope() {
    let app = app().await;
    let store = app.store();
    let read = store
        .create_token("lezen", TokenScope::Read, vec![SITE.into()])
        .await
        .unwrap();
    let write = store
        .create_token("schrijven", TokenScope::Write, vec![SITE.into()])
        .await
        .unwrap();
    let other = store
        .create_token("hoorn", TokenScope::Write, vec!["hoorn.nl".into()])
        .await
        .unwrap();
    let goal = json!({"event_name": "Aanvraag", "value_eur": 1_000_000});
    let funnel = json!({"name": "f", "steps": [{"page": "/"}, {"event": "Aanvraag"}]});
    let goals = "/api/luister/v1/sites/enschede.nl/goals";
    let funnels = "/api/luister/v1/sites/enschede.nl/funnels";
    let (status, body) = app
        .call(Method::POST, Some(&read), goals, Some(goal.clone()))
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("scope write"));
    assert_eq!(
        app.call(Method::POST, Some(&read), funnels, Some(funnel.clone()))
            .await
            .0,
        403
    );
    assert_eq!(app.call(Method::GET, Some(&read), goals, None).await.0, 200);
    assert_eq!(
        app.call(Method::POST, Some(&other), goals, Some(goal.clone()))
            .await
            .0,
        404
    );
    let (status, created) = app
        .call(Method::POST, Some(&write), goals, Some(goal))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        app.call(Method::DELETE, Some(&read), &format!("{goals}/{id}"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        app.call(Method::POST, Some(&write), funnels, Some(funnel))
            .await
            .0,
        201
    );
    assert_eq!(
        app.call(Method::GET, Some(&write), "/api/luister/v1/sites", None)
            .await
            .0,
        403
    );
    let listed = store.list_tokens().await.unwrap();
    let scopes: Vec<_> = listed.iter().map(|t| (t.name.as_str(), t.scope)).collect();
    assert!(scopes.contains(&("lezen", TokenScope::Read)));
    assert!(scopes.contains(&("schrijven", TokenScope::Write)));
}

#[tokio::test]
async fn goals_and_saved_funnels_are_capped_and_reports_keep_working() {
    let app = app().await;
    let store = app.store();
    for i in 0..luister_store::MAX_GOALS_PER_SITE {
        let page = format!("/{}{i}/**", "p".repeat(480));
        store
            .add_goal(&luister_store::Goal {
                site_id: SITE.into(),
                id: String::new(),
                event_name: String::new(),
                page_path: page,
                display_name: format!("goal {i}"),
                value_cents: 100,
                minutes_saved: 1.0,
            })
            .await
            .unwrap();
    }
    let goals = "/api/luister/v1/sites/enschede.nl/goals";
    let (status, body) = app
        .call(
            Method::POST,
            Some(ADMIN),
            goals,
            Some(json!({"event_name": "x"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("at most 100 goals"));
    let (status, body) = app
        .call(
            Method::GET,
            Some(ADMIN),
            "/api/v1/goals/value?site_id=enschede.nl&period=30d",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            Method::GET,
            Some(ADMIN),
            "/api/v1/stats/breakdown?site_id=enschede.nl&period=30d&property=event:goal",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let funnel = json!({"name": "f", "steps": [{"page": "/"}, {"event": "Aanvraag"}]});
    let funnels = "/api/luister/v1/sites/enschede.nl/funnels";
    for _ in 0..luister_store::MAX_FUNNELS_PER_SITE {
        assert_eq!(
            app.call(Method::POST, Some(ADMIN), funnels, Some(funnel.clone()))
                .await
                .0,
            201
        );
    }
    let (status, body) = app
        .call(Method::POST, Some(ADMIN), funnels, Some(funnel))
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn removing_a_site_removes_its_goals_funnels_and_tokens() {
    let app = app().await;
    let store = app.store();
    let only = store
        .create_token("alleen", TokenScope::Write, vec![SITE.into()])
        .await
        .unwrap();
    let both = store
        .create_token(
            "beide",
            TokenScope::Read,
            vec![SITE.into(), "hoorn.nl".into()],
        )
        .await
        .unwrap();
    let goals = "/api/luister/v1/sites/enschede.nl/goals";
    assert_eq!(
        app.call(
            Method::POST,
            Some(&only),
            goals,
            Some(json!({"event_name": "x"}))
        )
        .await
        .0,
        201
    );
    let funnel = json!({"name": "f", "steps": [{"page": "/"}, {"event": "x"}]});
    assert_eq!(
        app.call(
            Method::POST,
            Some(&only),
            "/api/luister/v1/sites/enschede.nl/funnels",
            Some(funnel)
        )
        .await
        .0,
        201
    );
    let (status, removed) = app
        .call(
            Method::DELETE,
            Some(ADMIN),
            "/api/luister/v1/sites/enschede.nl",
            None,
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    assert_eq!(
        removed,
        json!({"removed": SITE, "goals": 1, "funnels": 1, "tokens_revoked": 1, "tokens_narrowed": 1})
    );
    let (status, _) = app
        .call(
            Method::POST,
            Some(ADMIN),
            "/api/luister/v1/sites",
            Some(json!({"domain": SITE})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, listed) = app.call(Method::GET, Some(ADMIN), goals, None).await;
    assert_eq!(listed, json!([]));
    let (_, listed) = app
        .call(
            Method::GET,
            Some(ADMIN),
            "/api/luister/v1/sites/enschede.nl/funnels",
            None,
        )
        .await;
    assert_eq!(listed, json!([]));
    assert_eq!(app.call(Method::GET, Some(&only), goals, None).await.0, 401);
    assert_eq!(app.call(Method::GET, Some(&both), goals, None).await.0, 404);
    assert_eq!(
        app.call(
            Method::GET,
            Some(&both),
            "/api/luister/v1/sites/hoorn.nl/goals",
            None
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn far_away_dates_get_a_clear_400() {
    let app = app().await;
    let (status, body) = app.call(Method::GET,
        Some(ADMIN),
        "/api/v1/stats/timeseries?site_id=enschede.nl&period=custom&date=-262143-01-01,-262143-01-07&interval=week",
        None,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("between 2000-01-01"));
}

#[tokio::test]
async fn ready_holds_under_concurrent_probes_and_full_spool_says_when_to_retry() {
    let app = TestApp::start_tweaked(TestDb::new().await, now(), &[Site::new(SITE)], |s| {
        s.spool.max_bytes = 1;
    })
    .await;
    let probes = (0..40)
        .map(|_| app.http.get(format!("{}/ready", app.base)))
        .collect();
    for response in all_at_once(probes).await {
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
    // The first event fills the 1-byte spool; the next is refused with a Retry-After.
    let body = r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#;
    let mut refused = None;
    for i in 0..5 {
        let response = app.send(body, &format!("192.0.2.{i}"), FIREFOX).await;
        if response.status() == 503 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("a full spool refuses");
    assert_eq!(refused.headers()["retry-after"], "5");
}

#[tokio::test]
async fn answers_carry_security_headers_and_api_answers_are_not_cached() {
    let app = app().await;
    let api = app
        .http
        .get(format!("{}/api/luister/v1/sites", app.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["cache-control"], "no-store");
    assert_eq!(api.headers()["api-version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert_eq!(api.headers()["referrer-policy"], "no-referrer");
    let health = app
        .http
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn reports_over_the_query_limits_fail_clearly() {
    let app = TestApp::start_tweaked(TestDb::new().await, now(), &[Site::new(SITE)], |s| {
        s.query_limits.max_memory_bytes = 1;
    })
    .await;
    let (status, body) = app
        .call(
            Method::GET,
            Some(ADMIN),
            "/api/v1/stats/aggregate?site_id=enschede.nl&period=30d&metrics=visitors,visits",
            None,
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("query limits"));
}

#[tokio::test]
async fn an_abandoned_query_is_killed_in_clickhouse() {
    let db = TestDb::new().await;
    let store = db.store.clone();
    let (query, guard) = store.cancellable(
        store
            .client()
            .query("SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1"),
    );
    let id = guard.query_id().to_string();
    let abandoned = tokio::time::timeout(Duration::from_millis(700), async move {
        let _guard = guard;
        query.fetch_one::<u64>().await
    })
    .await;
    assert!(abandoned.is_err(), "the query should still run");
    let running = || async {
        store
            .client()
            .query("SELECT count() FROM system.processes WHERE query_id = ?")
            .bind(id.as_str())
            .fetch_one::<u64>()
            .await
            .unwrap()
    };
    let started = std::time::Instant::now();
    while running().await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "query {id} still runs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_flood_of_new_clients_keeps_the_visit_map_bounded() {
    let app = TestApp::start_tweaked(TestDb::new().await, now(), &[Site::new(SITE)], |s| {
        s.visit_limits.max_open_visits = 640;
    })
    .await;
    let path = "a".repeat(1_900);
    let body = format!(r#"{{"n":"pageview","u":"https://enschede.nl/{path}","d":"enschede.nl"}}"#);
    for i in 0..3_000u32 {
        let ip = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        assert_eq!(app.send(&body, &ip, FIREFOX).await.status(), 202);
    }
    let metrics = app.metrics().await;
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"))
    };
    assert!(value("luister_open_visits ") <= 640, "{metrics}");
    assert_eq!(
        value("luister_open_visits ") + value("luister_visits_evicted_total "),
        3_000
    );
    app.flushed().await;
}

#[tokio::test]
async fn a_batch_clickhouse_refuses_for_good_is_quarantined_then_replayed() {
    let app = app().await;
    let page =
        |i: u32| format!(r#"{{"n":"pageview","u":"https://enschede.nl/{i}","d":"enschede.nl"}}"#);
    assert_eq!(app.send(&page(0), "192.0.2.1", FIREFOX).await.status(), 202);
    app.flushed().await;
    let client = app.store().client().clone();
    let ddl = |sql: &'static str| {
        let client = client.clone();
        async move { client.query(sql).execute().await.unwrap() }
    };
    // A column of another type than Luister writes: every insert is refused as unreadable.
    ddl("ALTER TABLE events MODIFY COLUMN value_cents String").await;
    for i in 1..=2 {
        assert_eq!(app.send(&page(i), "192.0.2.1", FIREFOX).await.status(), 202);
    }
    let spool_dir = app.spool_dir.path().to_path_buf();
    let started = std::time::Instant::now();
    while luister::spool::list(&spool_dir).unwrap().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing quarantined"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let quarantined = luister::spool::list(&spool_dir).unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].events, 2);
    assert!(
        quarantined[0].reason.contains("rejected"),
        "{}",
        quarantined[0].reason
    );
    assert!(app
        .metrics()
        .await
        .contains("luister_spool_quarantined_segments_total 1"));
    ddl("ALTER TABLE events MODIFY COLUMN value_cents Int64").await;
    // The spool flows again behind the quarantined batch.
    assert_eq!(app.send(&page(3), "192.0.2.1", FIREFOX).await.status(), 202);
    app.flushed().await;
    let replayed = luister::spool::replay(app.store(), &spool_dir, &[])
        .await
        .unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].outcome, Ok(2));
    assert!(luister::spool::list(&spool_dir).unwrap().is_empty());
    let paths = app
        .db
        .json_rows("SELECT pathname FROM events ORDER BY pathname")
        .await;
    assert_eq!(
        paths,
        vec![
            json!({"pathname": "/0"}),
            json!({"pathname": "/1"}),
            json!({"pathname": "/2"}),
            json!({"pathname": "/3"})
        ]
    );
    // Replaying again finds nothing and stores nothing twice.
    assert!(luister::spool::replay(app.store(), &spool_dir, &[])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn clients_sites_and_failed_sign_ins_are_rate_limited() {
    use luister_server::rate_limit::{Rate, RateLimits};
    let app = TestApp::start_tweaked(TestDb::new().await, now(), &[Site::new(SITE)], |s| {
        s.rate_limits = RateLimits {
            collector_per_client: Rate {
                per_second: 0.01,
                burst: 5.0,
            },
            collector_per_site: Rate {
                per_second: 0.01,
                burst: 12.0,
            },
            auth_failures_per_client: Rate {
                per_second: 0.01,
                burst: 3.0,
            },
        };
    })
    .await;
    let body = r#"{"n":"pageview","u":"https://enschede.nl/","d":"enschede.nl"}"#;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(app.send(body, "192.0.2.1", FIREFOX).await.status().as_u16());
    }
    assert_eq!(statuses, vec![202, 202, 202, 202, 202, 429, 429]);
    let limited = app.send(body, "192.0.2.1", FIREFOX).await;
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=100).contains(&wait), "{wait}");
    assert!(limited.text().await.unwrap().contains("this client"));
    // Another client is not held back by the first, until the site's own limit.
    let mut others = Vec::new();
    for i in 2..12 {
        others.push(
            app.send(body, &format!("192.0.2.{i}"), FIREFOX)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        others.iter().filter(|s| **s == 202).count(),
        7,
        "{others:?}"
    );
    let site_limited = app.send(body, "192.0.2.99", FIREFOX).await;
    assert_eq!(site_limited.status(), 429);
    assert!(site_limited.text().await.unwrap().contains("this site"));

    // Three wrong tokens, then even the right one waits.
    let aggregate = "/api/v1/stats/aggregate?site_id=enschede.nl&period=day";
    for _ in 0..3 {
        assert_eq!(
            app.call(Method::GET, Some("lst_wrong"), aggregate, None)
                .await
                .0,
            401
        );
    }
    let (status, body) = app
        .call(Method::GET, Some("lst_wrong"), aggregate, None)
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        app.call(Method::GET, Some(ADMIN), aggregate, None).await.0,
        429
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"luister_rate_limited_total{limit="client"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"luister_rate_limited_total{limit="auth"} 2"#),
        "{metrics}"
    );
    app.flushed().await;
}

#[tokio::test]
async fn admin_changes_are_in_the_audit_log() {
    let app = app().await;
    let goals = "/api/luister/v1/sites/enschede.nl/goals";
    let (_, goal) = app
        .call(
            Method::POST,
            Some(ADMIN),
            goals,
            Some(json!({"event_name": "Aanvraag"})),
        )
        .await;
    let id = goal["id"].as_str().unwrap().to_string();
    let writer = app
        .store()
        .create_token("webteam", TokenScope::Write, vec![SITE.into()])
        .await
        .unwrap();
    assert_eq!(
        app.call(
            Method::DELETE,
            Some(&writer),
            &format!("{goals}/{id}"),
            None
        )
        .await
        .0,
        204
    );
    let (_, removed) = app
        .call(
            Method::DELETE,
            Some(ADMIN),
            "/api/luister/v1/sites/hoorn.nl",
            None,
        )
        .await;
    assert_eq!(removed["removed"], "hoorn.nl");
    let (status, log) = app
        .call(Method::GET, Some(ADMIN), "/api/luister/v1/audit", None)
        .await;
    assert_eq!(status, 200, "{log}");
    let entries: Vec<(String, String, String)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
                e["site_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("LUISTER_ADMIN_TOKEN", "goal.add", SITE),
        ("token webteam", "goal.delete", SITE),
        ("LUISTER_ADMIN_TOKEN", "site.remove", "hoorn.nl"),
    ] {
        let expected = (
            expected.0.to_string(),
            expected.1.to_string(),
            expected.2.to_string(),
        );
        assert!(
            entries.contains(&expected),
            "{expected:?} not in {entries:?}"
        );
    }
    assert!(
        log.to_string().contains("2026") || log.to_string().contains("20"),
        "{log}"
    );
    assert!(
        !log.to_string().contains(&writer),
        "a token must never be logged"
    );
    let (_, only_hoorn) = app
        .call(
            Method::GET,
            Some(ADMIN),
            "/api/luister/v1/audit?site_id=hoorn.nl",
            None,
        )
        .await;
    assert_eq!(only_hoorn.as_array().unwrap().len(), 1);
    assert_eq!(
        app.call(Method::GET, Some(&writer), "/api/luister/v1/audit", None)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn a_sites_retention_deletes_its_old_events_and_nothing_else() {
    let db = TestDb::new().await;
    let mut kept_short = Site::new(SITE);
    kept_short.retention_months = 2;
    db.store.add_site(&kept_short).await.unwrap();
    db.store.add_site(&Site::new("hoorn.nl")).await.unwrap();
    let line = |at: &str, domain: &str| {
        json!({"timestamp": at, "domain": domain, "name": "pageview", "url": format!("https://{domain}/"),
               "ip": "192.0.2.1", "user_agent": FIREFOX})
        .to_string()
    };
    luister_tests::app::import_lines(
        &db,
        &[
            line("2026-07-15T10:00:00Z", SITE),
            line("2026-09-01T10:00:00Z", SITE),
            line("2026-10-20T10:00:00Z", SITE),
            line("2026-07-15T10:00:00Z", "hoorn.nl"),
        ],
    )
    .await;
    // The daily job runs when the server starts.
    let app = TestApp::start_on(db, now(), &[]).await;
    let count = |sql: &'static str| {
        let client = app.store().client().clone();
        async move { client.query(sql).fetch_one::<u64>().await.unwrap() }
    };
    let started = std::time::Instant::now();
    while count("SELECT count() FROM events WHERE site_id = 'enschede.nl'").await > 1
        || count("SELECT count() FROM sessions WHERE site_id = 'enschede.nl'").await > 1
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "old events remain"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        count("SELECT count() FROM events WHERE site_id = 'enschede.nl' AND toDate(timestamp) = '2026-10-20'").await,
        1
    );
    assert_eq!(
        count("SELECT count() FROM events WHERE site_id = 'hoorn.nl'").await,
        1
    );
}
