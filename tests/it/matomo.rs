//! `/matomo.php` and `/piwik.php` over real HTTP into a real ClickHouse, and the same visit
//! through the Matomo and the Plausible format giving the same rows.

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_store::TokenScope;
use luister_tests::app::TestApp;
use serde_json::{json, Value};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

fn enschede() -> Site {
    let mut site = Site::new("enschede.nl");
    site.matomo_id = 3;
    site
}

fn enc(s: &str) -> String {
    // Enough for these tests: the characters that appear in their URLs.
    s.replace('%', "%25")
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('?', "%3F")
        .replace('=', "%3D")
        .replace('&', "%26")
        .replace(' ', "%20")
}

async fn rows(app: &TestApp, columns: &str) -> Vec<Value> {
    query(
        app,
        &format!("SELECT {columns} FROM events ORDER BY timestamp, name, pathname"),
    )
    .await
}

async fn query(app: &TestApp, sql: &str) -> Vec<Value> {
    app.db.json_rows(sql).await
}

fn get(app: &TestApp, path: &str, query: &str) -> reqwest::RequestBuilder {
    app.http
        .get(format!("{}{path}?{query}", app.base))
        .header("x-forwarded-for", "192.0.2.10")
        .header("user-agent", FIREFOX)
}

fn post(app: &TestApp, path: &str, body: String) -> reqwest::RequestBuilder {
    app.http
        .post(format!("{}{path}", app.base))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .header("x-forwarded-for", "192.0.2.10")
        .header("user-agent", FIREFOX)
        .body(body)
}

#[tokio::test]
async fn get_post_and_bulk_requests_are_stored() {
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[enschede()]).await;
    let page = format!(
        "idsite=3&rec=1&url={}&urlref={}&_id=0123456789abcdef&uid=jan&res=1920x1080&action_name=Afval",
        enc("https://www.enschede.nl/afval?bsn=123"),
        enc("https://www.google.nl/")
    );
    let image = get(&app, "/matomo.php", &page)
        .header("origin", "https://www.enschede.nl")
        .send()
        .await
        .unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/gif");
    assert_eq!(
        image.headers()["access-control-allow-origin"],
        "https://www.enschede.nl"
    );
    let gif = image.bytes().await.unwrap();
    assert!(gif.starts_with(b"GIF89a") && gif.len() == 43);

    let event = format!(
        "idsite=3&rec=1&url={}&e_c=Formulier&e_a=Verzonden&e_n=paspoort&e_v=1&send_image=0",
        enc("https://www.enschede.nl/afval")
    );
    let beacon = post(&app, "/piwik.php", event).send().await.unwrap();
    assert_eq!(beacon.status(), 204);

    let bulk = json!({"requests": [
        format!("?idsite=3&rec=1&url={}&search=Schuldhulp&search_count=0", enc("https://www.enschede.nl/zoeken?q=schuldhulp")),
        format!("?idsite=3&rec=1&url={}&link={}", enc("https://www.enschede.nl/afval"), enc("https://www.rijksoverheid.nl/x")),
        format!("?idsite=3&rec=1&url={}&download={}", enc("https://www.enschede.nl/afval"), enc("https://www.enschede.nl/docs/afvalkalender.pdf")),
        format!("?idsite=3&rec=1&url={}&ping=1", enc("https://www.enschede.nl/afval")),
        "?idsite=99&rec=1&url=https%3A%2F%2Fx.nl%2F",
    ]});
    let response = app
        .http
        .post(format!("{}/matomo.php", app.base))
        .header("x-forwarded-for", "192.0.2.10")
        .header("user-agent", FIREFOX)
        .body(bulk.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"status": "success", "tracked": 4, "invalid": 1})
    );

    app.flushed().await;
    let got = rows(&app, "name, hostname, pathname, referrer_source, utm_source, browser, search_term, search_results, props.key, props.value, toString(visitor_id) AS v").await;
    let names: Vec<&str> = got.iter().map(|r| r["name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "File Download",
            "Formulier: Verzonden",
            "Outbound Link: Click",
            "pageview",
            "pageview"
        ],
        "{got:?}"
    );
    let by_name = |n: &str| got.iter().find(|r| r["name"] == n).unwrap();
    let first = got
        .iter()
        .find(|r| r["pathname"] == "/afval" && r["name"] == "pageview")
        .unwrap();
    assert_eq!(first["hostname"], "www.enschede.nl");
    assert_eq!(first["referrer_source"], "Google");
    assert_eq!(first["utm_source"], "");
    assert_eq!(first["browser"], "Firefox");
    assert_eq!(
        first["props.key"],
        json!([]),
        "res, action_name, _id and uid are not stored"
    );
    let search = got.iter().find(|r| r["pathname"] == "/zoeken").unwrap();
    assert_eq!(
        (
            &search["name"],
            &search["search_term"],
            &search["search_results"]
        ),
        (&json!("pageview"), &json!("schuldhulp"), &json!(0))
    );
    assert_eq!(
        by_name("Formulier: Verzonden")["props.key"],
        json!(["category", "action", "name", "value"])
    );
    assert_eq!(
        by_name("Formulier: Verzonden")["props.value"],
        json!(["Formulier", "Verzonden", "paspoort", "1"])
    );
    assert_eq!(
        by_name("Outbound Link: Click")["props.value"],
        json!(["https://www.rijksoverheid.nl/x"])
    );
    assert_eq!(
        by_name("File Download")["props.value"],
        json!(["https://www.enschede.nl/docs/afvalkalender.pdf"])
    );
    assert!(
        got.iter().all(|r| r["v"] == got[0]["v"]),
        "one cookieless visitor: {got:?}"
    );
}

#[tokio::test]
async fn refused_requests_are_json_errors() {
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[enschede()]).await;
    let url = enc("https://enschede.nl/");
    for (query, needle) in [
        (format!("idsite=99&rec=1&url={url}"), "unknown site"),
        (format!("idsite=3&url={url}"), "rec"),
        ("rec=1".to_string(), "idsite"),
        ("idsite=3&rec=1".to_string(), "url"),
        (format!("idsite=3&rec=1&url={url}&e_c=Video"), "e_a"),
        (
            format!("idsite=3&rec=1&url={}", enc("ftp://enschede.nl/")),
            "url",
        ),
    ] {
        let response = get(&app, "/matomo.php", &query).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains(needle),
            "{query}: {error}"
        );
    }
    for body in [
        "{",
        r#"{"requests": 5}"#,
        r#"{"requests": ["?idsite=99&rec=1&url=https%3A%2F%2Fx.nl%2F"]}"#,
    ] {
        let response = post(&app, "/matomo.php", body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
    }
    let huge = format!(r#"{{"requests": ["{}"]}}"#, "x".repeat(1_100_000));
    assert_eq!(
        post(&app, "/matomo.php", huge)
            .send()
            .await
            .unwrap()
            .status(),
        413
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("luister_events_dropped_total{reason=\"unknown_site\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("luister_events_dropped_total{reason=\"malformed\"}"));
    app.flushed().await;
    assert!(rows(&app, "name").await.is_empty());
}

/// The same visit through `/api/event` (our tracker, Plausible's) and `/matomo.php`.
#[tokio::test]
async fn same_visit_through_plausible_and_matomo_formats_gives_same_rows() {
    let mut hengelo = Site::new("hengelo.nl");
    hengelo.matomo_id = 4;
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[enschede(), hengelo]).await;
    let columns = "name, hostname, pathname, referrer, referrer_source, channel, utm_source, browser, os, device, search_term, search_results, props.key, props.value, interactive";
    let visit = |domain: &str| {
        let home = format!("https://www.{domain}/");
        let zoeken = format!("https://www.{domain}/zoeken?q=schuldhulp");
        let plausible = vec![
            json!({"n": "pageview", "u": home, "d": domain, "r": "https://www.google.nl/"}),
            json!({"n": "pageview", "u": zoeken, "d": domain, "r": "https://www.google.nl/", "p": {"results": 0}}),
            json!({"n": "Outbound Link: Click", "u": zoeken, "d": domain, "r": "https://www.google.nl/", "p": {"url": "https://www.rijksoverheid.nl/"}}),
            json!({"n": "Formulier: Verzonden", "u": zoeken, "d": domain, "r": "https://www.google.nl/", "p": {"category": "Formulier", "action": "Verzonden", "name": "paspoort"}}),
            json!({"n": "File Download", "u": zoeken, "d": domain, "r": "https://www.google.nl/", "p": {"url": format!("https://www.{domain}/folder.pdf")}}),
        ];
        let r = enc("https://www.google.nl/");
        let matomo = vec![
            format!("url={}&urlref={r}", enc(&home)),
            format!(
                "url={}&urlref={r}&search=schuldhulp&search_count=0",
                enc(&zoeken)
            ),
            format!(
                "url={}&urlref={r}&link={}",
                enc(&zoeken),
                enc("https://www.rijksoverheid.nl/")
            ),
            format!(
                "url={}&urlref={r}&e_c=Formulier&e_a=Verzonden&e_n=paspoort",
                enc(&zoeken)
            ),
            format!(
                "url={}&urlref={r}&download={}",
                enc(&zoeken),
                enc(&format!("https://www.{domain}/folder.pdf"))
            ),
        ];
        (plausible, matomo)
    };
    let (plausible, _) = visit("enschede.nl");
    let (_, matomo) = visit("hengelo.nl");
    for (i, (p, m)) in plausible.iter().zip(&matomo).enumerate() {
        app.clock
            .set(at("2026-11-02T10:00:00Z") + chrono::Duration::seconds(i as i64 * 10));
        assert_eq!(
            app.send(&p.to_string(), "192.0.2.20", FIREFOX)
                .await
                .status(),
            202
        );
        let response = get(&app, "/matomo.php", &format!("idsite=4&rec=1&{m}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    app.flushed().await;
    let sql = |site: &str| {
        format!("SELECT {columns} FROM events WHERE site_id = '{site}' ORDER BY timestamp")
    };
    let a = query(&app, &sql("enschede.nl")).await;
    let b = query(&app, &sql("hengelo.nl")).await;
    assert_eq!(a.len(), 5, "{a:?}");
    let normalise = |rows: Vec<Value>| -> Vec<Value> {
        rows.into_iter()
            .map(|mut r| {
                for key in ["hostname", "referrer"] {
                    r[key] = json!(r[key]
                        .as_str()
                        .unwrap()
                        .replace("hengelo.nl", "enschede.nl"));
                }
                // Props as sorted pairs: a JSON object need not keep its order.
                let text = |v: &Value| v.as_str().unwrap().replace("hengelo.nl", "enschede.nl");
                let keys = r["props.key"].as_array().unwrap().iter().map(text);
                let values = r["props.value"].as_array().unwrap().iter().map(text);
                let mut props: Vec<(String, String)> = keys.zip(values).collect();
                props.sort();
                r["props"] = json!(props);
                r.as_object_mut().unwrap().remove("props.key");
                r.as_object_mut().unwrap().remove("props.value");
                r
            })
            .collect()
    };
    assert_eq!(normalise(a), normalise(b));
}

/// What Matomo's server-side trackers send: the visitor's User-Agent in `ua` and, with a
/// `token_auth`, its address in `cip` and the time in `cdt`.
#[tokio::test]
async fn server_side_trackers_send_the_visitors_agent_address_and_time() {
    let mut hengelo = Site::new("hengelo.nl");
    hengelo.matomo_id = 4;
    let app = TestApp::start(at("2026-11-02T10:00:00Z"), &[enschede(), hengelo]).await;
    let store = &app.db.store;
    let site_token =
        |scope, domain: &str| store.create_token("backend", scope, vec![domain.into()]);
    let write = site_token(TokenScope::Write, "enschede.nl").await.unwrap();
    let read = site_token(TokenScope::Read, "enschede.nl").await.unwrap();
    let elsewhere = site_token(TokenScope::Write, "hengelo.nl").await.unwrap();
    // The back-end itself: one address, no User-Agent of its own (as Node.js sends).
    let backend = |query: String| {
        app.http
            .get(format!("{}/matomo.php?{query}", app.base))
            .header("x-forwarded-for", "198.51.100.1")
            .header("user-agent", "")
            .send()
    };
    let form = |path: &str, extra: &str| {
        format!(
            "idsite=3&rec=1&send_image=0&url={}&ua={}{extra}",
            enc(&format!("https://www.enschede.nl{path}")),
            enc(FIREFOX)
        )
    };

    for (cip, path) in [("203.0.113.5", "/aanvraag"), ("2001:db8::6", "/aanvraag")] {
        let extra = format!(
            "&cip={}&cdt={}&token_auth={write}",
            enc(cip),
            enc("2026-11-02 09:30:00")
        );
        assert_eq!(backend(form(path, &extra)).await.unwrap().status(), 204);
    }
    for token in [&read, &elsewhere, &"lst_guessed".to_string()] {
        let response = backend(form(
            "/geweigerd",
            &format!("&cip=203.0.113.7&token_auth={token}"),
        ))
        .await
        .unwrap();
        assert_eq!(response.status(), 403, "{token}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("write token"),
            "{error}"
        );
    }
    // Without a token, cip and cdt are ignored (as Matomo ignores them); ua still counts.
    let ignored = form(
        "/zonder-token",
        "&cip=203.0.113.8&cdt=2026-11-02%2009%3A00%3A00",
    );
    assert_eq!(backend(ignored).await.unwrap().status(), 204);
    assert_eq!(
        backend(form("/zonder-token", "")).await.unwrap().status(),
        204
    );
    // No `ua`: no User-Agent at all, which counts as a bot.
    let no_ua = format!(
        "idsite=3&rec=1&send_image=0&url={}",
        enc("https://www.enschede.nl/bot")
    );
    assert_eq!(backend(no_ua).await.unwrap().status(), 204);
    let bulk = json!({
        "requests": [format!("?{}", form("/bulk", "&cip=203.0.113.9")), format!("?{}", form("/bulk", "&cip=203.0.113.10"))],
        "token_auth": write,
    });
    let answer: Value = app
        .http
        .post(format!("{}/matomo.php", app.base))
        .header("user-agent", "")
        .body(bulk.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        answer,
        json!({"status": "success", "tracked": 2, "invalid": 0})
    );

    app.flushed().await;
    let got = query(
        &app,
        "SELECT pathname, toString(timestamp) AS t, browser, toString(visitor_id) AS v \
         FROM events ORDER BY pathname, v",
    )
    .await;
    let paths: Vec<&str> = got
        .iter()
        .map(|r| r["pathname"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/aanvraag",
            "/aanvraag",
            "/bulk",
            "/bulk",
            "/zonder-token",
            "/zonder-token"
        ],
        "refused requests and the library's own bot request stored nothing: {got:?}"
    );
    assert!(got.iter().all(|r| r["browser"] == "Firefox"), "{got:?}");
    assert_eq!(got[0]["t"], "2026-11-02 09:30:00", "cdt with a write token");
    assert_eq!(
        got[4]["t"], "2026-11-02 10:00:00",
        "cdt without a token is ignored"
    );
    assert_ne!(got[0]["v"], got[1]["v"], "two cip, two visitors");
    assert_ne!(
        got[2]["v"], got[3]["v"],
        "the bulk token covers each request's cip"
    );
    assert_eq!(
        got[4]["v"], got[5]["v"],
        "cip without a token is ignored: the back-end's address"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("luister_events_dropped_total{reason=\"unauthorized\"} 3"),
        "{metrics}"
    );
}
