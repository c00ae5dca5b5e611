//! Scroll depth and time on page from `engagement` events, with exact numbers: per page,
//! with page filters, over time, with other filters, and the 400s where they make no sense.
//!
//! Both are averaged over *page visits* (one visit on one page) with engagement, as in
//! Plausible: `scroll_depth` the mean of each page visit's deepest scroll, `time_on_page`
//! the engaged seconds of those page visits divided by their number.

use crate::query_fixture::*;
use luister_model::{EventRecord, Site};
use luister_query::{params, QueryEngine};
use luister_tests::app::TestApp;
use luister_tests::TestDb;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

const DAY: [(&str, &str); 2] = [("period", "day"), ("date", "2026-11-02")];

/// Engagement reports `(seconds after the visit's start, page, scroll depth, engaged ms)`
/// added to a visit whose first pageview is at its start; depth 255 = no scroll depth.
fn engaged(visit: Visit, reports: &[(u32, &str, u8, u32)]) -> Vec<EventRecord> {
    static ID: AtomicU64 = AtomicU64::new(9_000_000);
    let mut records = visit.into_records();
    let first = records[0].clone();
    for (offset, page, depth, ms) in reports {
        let mut e = first.clone();
        e.event_id = ID.fetch_add(1, Ordering::Relaxed);
        e.timestamp = first.timestamp + offset;
        e.name = "engagement".into();
        e.pathname = (*page).into();
        e.scroll_depth = *depth;
        e.engaged_ms = *ms;
        e.interactive = 0;
        records.push(e);
    }
    records
}

/// Monday 2 November 2026 (Amsterdam), worked out by hand. Page visits with engagement:
///   `/`:        s11 (v1) depth 40, 10 s; s21 (v2) depth 100, 4 s
///               → scroll depth (40 + 100) / 2 = 70, time on page 14 s / 2 = 7
///   `/artikel`: s11 (v1) depth max(70, 90) = 90, 30 + 15 = 45 s; s12 (v1 again) 50, 25 s;
///               s21 (v2) no scroll depth, 12 s; s41 (v4, Google) 65, 60.5 s
///               → scroll depth (90 + 50 + 65) / 3 = 68.3 → 68, time (45 + 25 + 12 + 60.5) / 4 = 35.6 → 36
///   `/contact`: visited by v3, who sent no engagement at all → null, null.
/// Tuesday 3 November: v5 on `/artikel`, depth 10, 1 s.
fn records() -> Vec<EventRecord> {
    [
        engaged(
            visit(1, 11, "2026-11-02T10:00:00Z")
                .page(0, "/")
                .page(60, "/artikel"),
            &[
                (55, "/", 40, 10_000),
                (120, "/artikel", 70, 30_000),
                (300, "/artikel", 90, 15_000),
            ],
        ),
        engaged(
            visit(1, 12, "2026-11-02T14:00:00Z")
                .page(0, "/artikel")
                .event(40, "Download"),
            &[(30, "/artikel", 50, 25_000)],
        ),
        engaged(
            visit(2, 21, "2026-11-02T11:00:00Z")
                .page(0, "/")
                .page(20, "/artikel"),
            &[(15, "/", 100, 4_000), (50, "/artikel", 255, 12_000)],
        ),
        // The visitor without engagement.
        visit(3, 31, "2026-11-02T12:00:00Z")
            .page(0, "/")
            .page(30, "/contact")
            .into_records(),
        engaged(
            visit(4, 41, "2026-11-02T13:00:00Z")
                .source("Google")
                .page(0, "/artikel"),
            &[(70, "/artikel", 65, 60_500)],
        ),
        engaged(
            visit(5, 51, "2026-11-03T10:00:00Z").page(0, "/artikel"),
            &[(10, "/artikel", 10, 1_000)],
        ),
    ]
    .concat()
}

async fn loaded() -> Loaded {
    let db = TestDb::new().await;
    db.store.add_site(&Site::new(SITE)).await.unwrap();
    db.store.insert_events(&records(), false).await.unwrap();
    db.store.rebuild_sessions().await.unwrap();
    let engine = QueryEngine::new(db.store.clone());
    Loaded { db, engine }
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    DAY.iter().chain(extra).copied().collect()
}

#[tokio::test]
async fn page_breakdown_with_scroll_depth_and_time_on_page() {
    let l = loaded().await;
    let got = breakdown(
        &l,
        &with(&[
            ("property", "event:page"),
            ("metrics", "visitors,pageviews,scroll_depth,time_on_page"),
        ]),
    )
    .await;
    assert_eq!(
        got,
        json!([
            {"page": "/", "visitors": 3, "pageviews": 3, "scroll_depth": 70, "time_on_page": 7},
            {"page": "/artikel", "visitors": 3, "pageviews": 4, "scroll_depth": 68, "time_on_page": 36},
            {"page": "/contact", "visitors": 1, "pageviews": 1, "scroll_depth": null, "time_on_page": null},
        ])
    );
    // Engagement metrics alone, first: pages still chosen (and ordered) by visitors, and paged.
    let got = breakdown(
        &l,
        &with(&[
            ("property", "event:page"),
            ("metrics", "time_on_page"),
            ("limit", "1"),
            ("page", "2"),
        ]),
    )
    .await;
    assert_eq!(got, json!([{"page": "/artikel", "time_on_page": 36}]));
}

#[tokio::test]
async fn engagement_is_never_a_pageview_event_or_visit() {
    let l = loaded().await;
    // 4 pageviews and 1 Download on /artikel; its 5 engagement reports count nowhere else.
    let got = values(
        &aggregate(
            &l,
            &with(&[
                (
                    "metrics",
                    "visitors,visits,pageviews,events,scroll_depth,time_on_page",
                ),
                ("filters", "event:page==/artikel"),
            ]),
        )
        .await,
    );
    assert_eq!(
        got,
        json!({"visitors": 3, "visits": 4, "pageviews": 4, "events": 5,
               "scroll_depth": 68, "time_on_page": 36})
    );
    // Site totals are untouched by engagement: 8 pageviews + 1 Download, 5 visits.
    let got = values(
        &aggregate(
            &l,
            &with(&[(
                "metrics",
                "visitors,visits,pageviews,events,bounce_rate,visit_duration",
            )]),
        )
        .await,
    );
    assert_eq!(
        got,
        json!({"visitors": 4, "visits": 5, "pageviews": 8, "events": 9,
               "bounce_rate": 20, "visit_duration": 30})
    );
}

#[tokio::test]
async fn page_filters_other_filters_and_no_data() {
    let l = loaded().await;
    let agg = |f: &'static str| {
        let pairs = with(&[("metrics", "scroll_depth,time_on_page"), ("filters", f)]);
        let l = &l;
        async move { values(&aggregate(l, &pairs).await) }
    };
    // Several pages: the mean over all their page visits, (40+100+90+50+65)/5 = 69, 156.5/6 = 26.
    assert_eq!(
        agg("event:page==/|/artikel").await,
        json!({"scroll_depth": 69, "time_on_page": 26})
    );
    assert_eq!(
        agg("event:page==/art*").await,
        json!({"scroll_depth": 68, "time_on_page": 36})
    );
    // A visit filter goes through the visits: only s41 came from Google (60.5 s → 61).
    assert_eq!(
        agg("event:page==/artikel;visit:source==Google").await,
        json!({"scroll_depth": 65, "time_on_page": 61})
    );
    // A filter on other events selects the visits that have one: s12 downloaded.
    assert_eq!(
        agg("event:page==/artikel;event:name==Download").await,
        json!({"scroll_depth": 50, "time_on_page": 25})
    );
    // No engagement data: null, and so is the change.
    assert_eq!(
        agg("event:page==/contact").await,
        json!({"scroll_depth": null, "time_on_page": null})
    );
    let got = aggregate(
        &l,
        &with(&[
            ("metrics", "visitors,scroll_depth,time_on_page"),
            ("filters", "event:page==/artikel"),
            ("compare", "previous_period"),
        ]),
    )
    .await;
    assert_eq!(
        got,
        json!({"visitors": {"value": 3, "change": 100},
               "scroll_depth": {"value": 68, "change": null},
               "time_on_page": {"value": 36, "change": null}})
    );
}

#[tokio::test]
async fn timeseries_per_day_and_hour() {
    let l = loaded().await;
    let got = timeseries(
        &l,
        &[
            ("period", "custom"),
            ("date", "2026-11-02,2026-11-03"),
            ("metrics", "visitors,scroll_depth,time_on_page"),
            ("filters", "event:page==/artikel"),
        ],
    )
    .await;
    assert_eq!(
        got,
        json!([
            {"date": "2026-11-02", "visitors": 3, "scroll_depth": 68, "time_on_page": 36},
            {"date": "2026-11-03", "visitors": 1, "scroll_depth": 10, "time_on_page": 1},
        ])
    );
    // By hour (Amsterdam is UTC+1): s11 at 11:00, s21 at 12:00, s41 at 14:00, s12 at 15:00.
    let got = timeseries(
        &l,
        &with(&[
            ("metrics", "scroll_depth,time_on_page"),
            ("filters", "event:page==/artikel"),
            ("interval", "hour"),
        ]),
    )
    .await;
    let hours: Vec<(String, Value, Value)> = got
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["time_on_page"].is_null())
        .map(|p| {
            (
                p["date"].as_str().unwrap()[11..16].to_string(),
                p["scroll_depth"].clone(),
                p["time_on_page"].clone(),
            )
        })
        .collect();
    assert_eq!(
        hours,
        [
            ("11:00".to_string(), json!(90), json!(45)),
            ("12:00".to_string(), json!(null), json!(12)),
            ("14:00".to_string(), json!(65), json!(61)),
            ("15:00".to_string(), json!(50), json!(25)),
        ]
    );
    assert_eq!(got.as_array().unwrap().len(), 24);
}

#[tokio::test]
async fn rejected_where_they_make_no_sense() {
    let l = loaded().await;
    let err = |pairs: Vec<(&str, &str)>| params::breakdown(site(), &p(&pairs), now()).unwrap_err();
    let e = err(with(&[
        ("property", "visit:source"),
        ("metrics", "visitors,scroll_depth"),
    ]));
    assert_eq!(
        e.to_string(),
        "invalid parameter metrics: scroll_depth is a page-level metric: break down by property=event:page only"
    );
    let e = params::aggregate(site(), &p(&with(&[("metrics", "time_on_page")])), now())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("time_on_page is a page-level metric") && e.contains("event:page filter"),
        "{e}"
    );
    // The engine refuses too, for a query built by hand.
    let mut q = params::aggregate(site(), &p(&with(&[("metrics", "visitors")])), now()).unwrap();
    q.metrics.push(luister_query::Metric::ScrollDepth);
    let e = l.engine.aggregate(&q).await.unwrap_err().to_string();
    assert!(e.contains("scroll_depth is a page-level metric"), "{e}");
}

#[tokio::test]
async fn over_http_with_a_clear_400() {
    let app = TestApp::start(at("2026-11-04T12:00:00Z"), &[Site::new(SITE)]).await;
    app.store().insert_events(&records(), false).await.unwrap();
    app.store().rebuild_sessions().await.unwrap();
    let get = |path: String| {
        let req = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth("test-admin-token");
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let day = format!("site_id={SITE}&period=day&date=2026-11-02");
    assert_eq!(
        get(format!(
            "/api/v1/stats/breakdown?{day}&property=event:page&metrics=scroll_depth,time_on_page&limit=2"
        ))
        .await,
        (
            200,
            json!({"results": [
                {"page": "/", "scroll_depth": 70, "time_on_page": 7},
                {"page": "/artikel", "scroll_depth": 68, "time_on_page": 36},
            ]})
        )
    );
    assert_eq!(
        get(format!(
            "/api/v1/stats/aggregate?{day}&metrics=scroll_depth&filters=event:page%3D%3D/contact"
        ))
        .await,
        (200, json!({"results": {"scroll_depth": {"value": null}}}))
    );
    assert_eq!(
        get(format!(
            "/api/v1/stats/breakdown?{day}&property=visit:source&metrics=time_on_page"
        ))
        .await,
        (
            400,
            json!({"error": "invalid parameter metrics: time_on_page is a page-level metric: break down by property=event:page only"})
        )
    );
}
