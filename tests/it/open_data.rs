//! `/open-data/{domain}`: a site's public monthly figures, only when it opted in, with
//! everything that fewer than ten visitors are behind left out.

use chrono::{DateTime, Duration, Utc};
use luister_model::Site;
use luister_store::Goal;
use luister_tests::app::{import_lines, TestApp};
use serde_json::{json, Value};

const SITE: &str = "enschede.nl";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// Who does what: (visitors, what each of them does), as event name and path.
const OCTOBER: &[(u32, &[(&str, &str)])] = &[
    (25, &[("pageview", "/")]),
    (12, &[("pageview", "/afval")]),
    (9, &[("pageview", "/schulden")]),
    (10, &[("pageview", "/zoeken?q=container")]),
    (1, &[("pageview", "/zoeken?q=jan%20jansen")]),
    (11, &[("Aanvraag verstuurd", "/afval")]),
    (3, &[("Bezwaar", "/")]),
];

/// Visitor `n` of October does everything of the rows whose count is above `n`, within
/// minutes (one visit); five other visitors come in November.
fn lines() -> Vec<String> {
    let october: DateTime<Utc> = "2026-10-14T09:00:00Z".parse().unwrap();
    let november: DateTime<Utc> = "2026-11-20T09:00:00Z".parse().unwrap();
    let line = |at: DateTime<Utc>, ip: &str, name: &str, path: &str| {
        json!({"timestamp": at.to_rfc3339(), "domain": SITE, "name": name,
               "url": format!("https://{SITE}{path}"), "ip": ip, "user_agent": UA})
        .to_string()
    };
    let mut out = Vec::new();
    for n in 0..25u32 {
        let ip = format!("203.0.113.{n}");
        let start = october + Duration::minutes(n as i64 * 3);
        let actions = OCTOBER.iter().filter(|(count, _)| n < *count);
        for (step, (name, path)) in actions.flat_map(|(_, a)| a.iter()).enumerate() {
            out.push(line(
                start + Duration::seconds(step as i64 * 10),
                &ip,
                name,
                path,
            ));
        }
    }
    for n in 0..5 {
        let at = november + Duration::minutes(n);
        out.push(line(at, &format!("198.51.100.{n}"), "pageview", "/"));
    }
    out
}

async fn get(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

async fn json_at(app: &TestApp, path: &str) -> Value {
    let (status, headers, body) = get(app, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("public"));
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn monthly_figures_are_published_only_when_opted_in_and_small_counts_are_left_out() {
    let now: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().unwrap();
    let app = TestApp::start(now, &[Site::new(SITE)]).await;
    import_lines(&app.db, &lines()).await;
    for goal in ["Aanvraag verstuurd", "Bezwaar"] {
        app.store()
            .add_goal(&Goal::event(SITE, goal))
            .await
            .unwrap();
    }

    let (status, _, body) = get(&app, &format!("/open-data/{SITE}/2026-10.json")).await;
    assert_eq!(status, 404, "not opted in: {body}");
    assert!(body.contains("publishes no open data"), "{body}");
    let (status, _, _) = get(&app, "/open-data/onbekend.nl").await;
    assert_eq!(
        status, 404,
        "an unknown site reads the same as one that did not opt in"
    );

    app.store().set_open_data(SITE, true).await.unwrap();
    let index = json_at(&app, &format!("/open-data/{SITE}")).await;
    let months: Vec<&str> = index["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["month"].as_str().unwrap())
        .collect();
    assert_eq!(
        months,
        ["2026-10"],
        "November's 5 visitors are too few to list: {index}"
    );
    assert_eq!(
        index["months"][0]["csv"],
        format!("/open-data/{SITE}/2026-10.csv")
    );
    assert_eq!(index["min_count"], 10);

    let october = json_at(&app, &format!("/open-data/{SITE}/2026-10.json")).await;
    let visitors = |path: &str| OCTOBER.iter().find(|(_, a)| a[0].1 == path).unwrap().0;
    let pageviews: u32 = OCTOBER
        .iter()
        .filter(|(_, a)| a[0].0 == "pageview")
        .map(|(count, _)| count)
        .sum();
    assert_eq!(october["schema"], "luister-open-data/1");
    assert_eq!(
        october["totals"],
        json!({"visitors": 25, "visits": 25, "pageviews": pageviews})
    );
    assert_eq!(
        october["pages"],
        json!([
            {"page": "/", "visitors": visitors("/"), "pageviews": visitors("/")},
            {"page": "/afval", "visitors": 12, "pageviews": 12},
            {"page": "/zoeken", "visitors": 10, "pageviews": 11},
        ]),
        "/schulden has 9 visitors: left out"
    );
    let terms = october["search_terms"].as_array().unwrap();
    assert_eq!(terms.len(), 1, "one person's search is left out: {terms:?}");
    assert_eq!(
        (terms[0]["term"].as_str(), terms[0]["visitors"].as_u64()),
        (Some("container"), Some(10))
    );
    assert_eq!(terms[0]["searches"], 10);
    assert_eq!(
        october["goals"],
        json!([{"goal": "Aanvraag verstuurd", "visitors": 11, "conversions": 11}]),
        "Bezwaar has 3 visitors: left out"
    );

    let november = json_at(&app, &format!("/open-data/{SITE}/2026-11.json")).await;
    assert_eq!(
        november["totals"],
        Value::Null,
        "5 visitors in the month: totals left out"
    );
    assert_eq!(november["pages"], json!([]));

    let (status, headers, csv) = get(&app, &format!("/open-data/{SITE}/2026-10.csv")).await;
    assert_eq!(status, 200);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "month,table,item,metric,value");
    for expected in [
        "2026-10,totals,,visitors,25",
        "2026-10,pages,/afval,visitors,12",
        "2026-10,search_terms,container,searches,10",
        "2026-10,goals,Aanvraag verstuurd,conversions,11",
    ] {
        assert!(rows.contains(&expected), "{expected} in\n{csv}");
    }
    assert!(!csv.contains("schulden") && !csv.contains("jan") && !csv.contains("Bezwaar"));
    // Every value of the JSON is a line of the CSV, and nothing else is.
    let values = 3 + 2 * 3 + 3 + 2;
    assert_eq!(rows.len(), 1 + values, "{csv}");

    for (path, why) in [
        ("2026-12.json", "the month has not ended"),
        ("2016-11.json", "more than ten years back"),
        ("2026-10.xml", "no such format"),
        ("oktober.json", "no month"),
    ] {
        let (status, _, body) = get(&app, &format!("/open-data/{SITE}/{path}")).await;
        assert_eq!(status, 404, "{path}: {why}: {body}");
    }

    // Withdrawn: gone at once, though the figures were counted a moment ago.
    app.store().set_open_data(SITE, false).await.unwrap();
    let (status, _, _) = get(&app, &format!("/open-data/{SITE}/2026-10.json")).await;
    assert_eq!(status, 404);
}
