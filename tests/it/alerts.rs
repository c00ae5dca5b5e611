//! The monitor that warns: a day far outside its same-weekday baseline is flagged, a
//! normal day is not.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use luister_model::Site;
use luister_store::Goal;
use luister_tests::app::{import_lines, TestApp};
use reqwest::Method;
use serde_json::json;

const SITE: &str = "enschede.nl";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// 35 ordinary days (20 visitors, 5 of them apply, 2 search "paspoort"), then on
/// 29 November 80 visitors of whom 1 applies and 12 search "stembureau".
fn lines() -> Vec<String> {
    let first = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
    let mut out = Vec::new();
    for d in 0..35i64 {
        let date = first + Duration::days(d);
        let spike = date == NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let visitors = if spike { 80 } else { 20 };
        for n in 0..visitors {
            let at = DateTime::<Utc>::from_naive_utc_and_offset(
                date.and_hms_opt(11, 0, 0).unwrap(),
                Utc,
            ) + Duration::seconds(n * 30);
            let ip = format!("203.0.{d}.{n}");
            let line = |name: &str, path: &str, minutes: i64| {
                json!({"timestamp": (at + Duration::minutes(minutes)).to_rfc3339(), "domain": SITE, "name": name,
                       "url": format!("https://{SITE}{path}"), "ip": ip, "user_agent": UA}).to_string()
            };
            out.push(line("pageview", "/", 0));
            if (spike && n == 0) || (!spike && n < 5) {
                out.push(line("Aanvraag verstuurd", "/", 1));
            }
            if spike && n < 12 {
                out.push(line("pageview", "/zoeken?q=stembureau", 2));
            } else if !spike && n < 2 {
                out.push(line("pageview", "/zoeken?q=paspoort", 2));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_day_far_outside_its_weekday_baseline_is_flagged() {
    let now: DateTime<Utc> = "2026-11-30T09:00:00Z".parse().unwrap();
    let app = TestApp::start(now, &[Site::new(SITE)]).await;
    import_lines(&app.db, &lines()).await;
    app.store()
        .add_goal(&Goal::event(SITE, "Aanvraag verstuurd"))
        .await
        .unwrap();
    app.store()
        .add_funnel(&luister_store::SavedFunnel {
            site_id: SITE.into(),
            id: String::new(),
            name: "Aanvragen".into(),
            definition: json!({"steps": [{"page": "/"}, {"event": "Aanvraag verstuurd"}]})
                .to_string(),
        })
        .await
        .unwrap();
    let (status, body) = app
        .call(
            Method::GET,
            Some("test-admin-token"),
            &format!("/api/v1/alerts?site_id={SITE}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let alerts = body["results"].as_array().unwrap();
    let kinds: Vec<(String, String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().into(),
                a["subject"].as_str().unwrap().into(),
                a["direction"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("visitors", "", "up"),
        ("pageviews", "", "up"),
        ("goal_conversion_rate", "Aanvraag verstuurd", "down"),
        ("rising_search_term", "stembureau", "up"),
        ("funnel_conversion", "Aanvragen", "down"),
    ] {
        assert!(
            kinds
                .iter()
                .any(|k| (k.0.as_str(), k.1.as_str(), k.2.as_str()) == want),
            "{want:?} missing from {kinds:?}"
        );
    }
    assert_eq!(alerts.len(), 5, "{kinds:?}");
    let visitors = alerts.iter().find(|a| a["kind"] == "visitors").unwrap();
    assert_eq!(
        (visitors["value"].as_f64(), visitors["expected"].as_f64()),
        (Some(80.0), Some(20.0))
    );
    assert!(visitors["message"].as_str().unwrap().contains("veel hoger"));
    let (_, quiet) = app
        .call(
            Method::GET,
            Some("test-admin-token"),
            &format!("/api/v1/alerts?site_id={SITE}&date=2026-11-28"),
            None,
        )
        .await;
    assert_eq!(
        quiet["results"],
        json!([]),
        "an ordinary day raises nothing"
    );
    let (_, week) = app
        .call(
            Method::GET,
            Some("test-admin-token"),
            &format!("/api/v1/alerts?site_id={SITE}&days=7"),
            None,
        )
        .await;
    assert_eq!(week["results"].as_array().unwrap().len(), 5);
    let (status, _) = app
        .call(
            Method::GET,
            Some("test-admin-token"),
            &format!("/api/v1/alerts?site_id={SITE}&days=40"),
            None,
        )
        .await;
    assert_eq!(status, 400);
}
