//! Visit-level stats from the `sessions` table as ingestion leaves it: events imported
//! through the pipeline (which writes a cancel row and a new state per event) and queried
//! without OPTIMIZE, so every number below is read from unmerged states. Also: visits
//! across the range boundary (a visit counts where it started) and visits of only a
//! custom event.

use crate::query_fixture::{aggregate, breakdown, timeseries, values, Loaded};
use luister_model::Site;
use luister_query::QueryEngine;
use luister_tests::app::import_lines;
use luister_tests::TestDb;
use serde_json::json;

const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const DAY: [(&str, &str); 2] = [("period", "day"), ("date", "2026-11-10")];

/// `(UTC time, client ip, event name, path, referrer)`; one ip is one visitor.
type Line = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// A fresh database with the lines imported in one go (one insert per table).
async fn imported(lines: &[Line]) -> Loaded {
    let db = TestDb::new().await;
    db.store.add_site(&Site::new("enschede.nl")).await.unwrap();
    let ndjson: Vec<String> = lines
        .iter()
        .map(|(time, ip, name, path, referrer)| {
            json!({
                "timestamp": time, "domain": "enschede.nl", "name": name,
                "url": format!("https://enschede.nl{path}"), "referrer": referrer,
                "ip": ip, "user_agent": UA, "interactive": true,
            })
            .to_string()
        })
        .collect();
    import_lines(&db, &ndjson).await;
    let engine = QueryEngine::new(db.store.clone());
    Loaded { db, engine }
}

async fn cancel_rows(l: &Loaded) -> u64 {
    l.db.store
        .client()
        .query("SELECT count() FROM sessions WHERE sign = -1")
        .fetch_one()
        .await
        .unwrap()
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    DAY.iter().chain(extra).copied().collect()
}

/// 10 November (Amsterdam, UTC+1): four visitors, five visits whose exit page (and for
/// visitor 2 the entry page) changed while they went on.
/// 1: `/` (from Google), `/a`, `/b`, exit `/b`, 120 s.
/// 2: a Download first (entry not yet known), then `/a`: entry and exit `/a`, 30 s.
/// 3: only a Download: no pageview, no entry or exit page, not a bounce.
/// 4: a bounce on `/` at noon; later `/b` then `/a`: entry `/b`, exit `/a`, 30 s.
/// Visits 5, visitors 4, pageviews 7, events 9, bounces 1 (20 %), 180 s / 5 = 36 s,
/// views per visit 7 / 5 = 1.4.
fn changing_visits() -> Vec<Line> {
    vec![
        (
            "2026-11-10T08:00:00Z",
            "192.0.2.1",
            "pageview",
            "/",
            "https://www.google.nl/",
        ),
        ("2026-11-10T08:01:00Z", "192.0.2.1", "pageview", "/a", ""),
        ("2026-11-10T08:02:00Z", "192.0.2.1", "pageview", "/b", ""),
        ("2026-11-10T09:00:00Z", "192.0.2.2", "Download", "/a", ""),
        ("2026-11-10T09:00:30Z", "192.0.2.2", "pageview", "/a", ""),
        ("2026-11-10T10:00:00Z", "192.0.2.3", "Download", "/", ""),
        ("2026-11-10T11:00:00Z", "192.0.2.4", "pageview", "/", ""),
        ("2026-11-10T14:00:00Z", "192.0.2.4", "pageview", "/b", ""),
        ("2026-11-10T14:00:30Z", "192.0.2.4", "pageview", "/a", ""),
    ]
}

#[tokio::test]
async fn unmerged_visit_states_count_once() {
    let l = imported(&changing_visits()).await;
    // The premise: earlier states and their cancel rows are still stored side by side
    // (ClickHouse 18.x never collapses within one insert; later releases may, by default).
    if l.db.store.server_version().starts_with("18.") {
        assert_eq!(
            cancel_rows(&l).await,
            4,
            "one per event that changed a visit"
        );
    }
    let all = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";
    assert_eq!(
        values(&aggregate(&l, &with(&[("metrics", all)])).await),
        json!({"visitors": 4, "visits": 5, "pageviews": 7, "views_per_visit": 1.4,
               "bounce_rate": 20, "visit_duration": 36, "events": 9})
    );
    // Each visitor counts under the exit page their visit has now, not the ones it passed.
    assert_eq!(
        breakdown(
            &l,
            &with(&[
                ("property", "visit:exit_page"),
                ("metrics", "visitors,visits")
            ])
        )
        .await,
        json!([
            {"exit_page": "/a", "visitors": 2, "visits": 2},
            {"exit_page": "(not set)", "visitors": 1, "visits": 1},
            {"exit_page": "/", "visitors": 1, "visits": 1},
            {"exit_page": "/b", "visitors": 1, "visits": 1},
        ])
    );
    // Visitor 2 entered on /a: the state before their first pageview is gone.
    assert_eq!(
        breakdown(
            &l,
            &with(&[
                ("property", "visit:entry_page"),
                ("metrics", "visitors,visits,bounce_rate")
            ])
        )
        .await,
        json!([
            {"entry_page": "/", "visitors": 2, "visits": 2, "bounce_rate": 50},
            {"entry_page": "(not set)", "visitors": 1, "visits": 1, "bounce_rate": 0},
            {"entry_page": "/a", "visitors": 1, "visits": 1, "bounce_rate": 0},
            {"entry_page": "/b", "visitors": 1, "visits": 1, "bounce_rate": 0},
        ])
    );
    // Filters on a changing property match the latest state only, on either table.
    assert_eq!(
        values(
            &aggregate(
                &l,
                &with(&[
                    ("metrics", "visitors,visits,pageviews,visit_duration"),
                    ("filters", "visit:exit_page==/a")
                ])
            )
            .await
        ),
        json!({"visitors": 2, "visits": 2, "pageviews": 3, "visit_duration": 30})
    );
    assert_eq!(
        values(
            &aggregate(
                &l,
                &with(&[
                    ("metrics", "visitors,visits"),
                    ("filters", "visit:exit_page==/")
                ])
            )
            .await
        ),
        json!({"visitors": 1, "visits": 1})
    );
    // Sources: the first event's; pageviews per source counted on the events.
    assert_eq!(
        breakdown(
            &l,
            &with(&[
                ("property", "visit:source"),
                ("metrics", "visitors,visits,pageviews,events")
            ])
        )
        .await,
        json!([
            {"source": "Direct / None", "visitors": 3, "visits": 4, "pageviews": 4, "events": 6},
            {"source": "Google", "visitors": 1, "visits": 1, "pageviews": 3, "events": 3},
        ])
    );
    let hours = timeseries(&l, &with(&[("metrics", "visits,bounce_rate")])).await;
    assert_eq!(
        hours[12],
        json!({"date": "2026-11-10 12:00:00", "visits": 1, "bounce_rate": 100})
    );
    let visits: u64 = hours
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["visits"].as_u64().unwrap())
        .sum();
    assert_eq!(visits, 5);
}

#[tokio::test]
async fn a_visit_of_only_a_custom_event() {
    let l = imported(&[
        (
            "2026-11-10T10:00:00Z",
            "192.0.2.3",
            "Download",
            "/folder",
            "",
        ),
        ("2026-11-10T11:00:00Z", "192.0.2.4", "pageview", "/", ""),
    ])
    .await;
    let all = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";
    // A visit and a visitor, but no pageview: not a bounce, which needs exactly one.
    assert_eq!(
        values(&aggregate(&l, &with(&[("metrics", all)])).await),
        json!({"visitors": 2, "visits": 2, "pageviews": 1, "views_per_visit": 0.5,
               "bounce_rate": 50, "visit_duration": 0, "events": 2})
    );
    assert_eq!(
        values(
            &aggregate(
                &l,
                &with(&[
                    ("metrics", "visitors,visits,pageviews,bounce_rate"),
                    ("filters", "event:name==Download")
                ])
            )
            .await
        ),
        json!({"visitors": 1, "visits": 1, "pageviews": 0, "bounce_rate": 0})
    );
    assert_eq!(
        breakdown(
            &l,
            &with(&[("property", "visit:entry_page"), ("metrics", "visits")])
        )
        .await,
        json!([{"entry_page": "(not set)", "visits": 1}, {"entry_page": "/", "visits": 1}])
    );
    // Per page it has an event (the page it was sent from) but no pageview and no entry.
    assert_eq!(
        breakdown(
            &l,
            &with(&[
                ("property", "event:page"),
                ("metrics", "visitors,pageviews,bounce_rate")
            ])
        )
        .await,
        json!([
            {"page": "/", "visitors": 1, "pageviews": 1, "bounce_rate": 100},
            {"page": "/folder", "visitors": 1, "pageviews": 0, "bounce_rate": 0},
        ])
    );
}

/// A visit from 23:50 on 10 November to 00:15 on the 11th (Amsterdam): a visit of the 10th,
/// whole; its last pageview is an event of the 11th.
#[tokio::test]
async fn visits_spanning_the_range_boundary() {
    let l = imported(&[
        (
            "2026-11-10T22:50:00Z",
            "192.0.2.5",
            "pageview",
            "/",
            "https://www.google.nl/",
        ),
        ("2026-11-10T23:15:00Z", "192.0.2.5", "pageview", "/laat", ""),
        ("2026-11-11T09:00:00Z", "192.0.2.6", "pageview", "/", ""),
    ])
    .await;
    let metrics = (
        "metrics",
        "visitors,visits,pageviews,views_per_visit,visit_duration,bounce_rate",
    );
    assert_eq!(
        values(&aggregate(&l, &[DAY[0], DAY[1], metrics]).await),
        json!({"visitors": 1, "visits": 1, "pageviews": 1, "views_per_visit": 2.0,
               "visit_duration": 1500, "bounce_rate": 0})
    );
    let next = [("period", "day"), ("date", "2026-11-11"), metrics];
    assert_eq!(
        values(&aggregate(&l, &next).await),
        json!({"visitors": 1, "visits": 1, "pageviews": 2, "views_per_visit": 1.0,
               "visit_duration": 0, "bounce_rate": 100})
    );
    // A visit filter still finds the 11th's pageview of the visit that began on the 10th.
    let google = [
        ("period", "day"),
        ("date", "2026-11-11"),
        ("metrics", "visits,pageviews"),
        ("filters", "visit:source==Google"),
    ];
    assert_eq!(
        values(&aggregate(&l, &google).await),
        json!({"visits": 0, "pageviews": 1})
    );
    // With an event filter, visitors are those with a matching event on the day.
    let late = [
        ("period", "day"),
        ("date", "2026-11-11"),
        ("metrics", "visitors,visits,pageviews"),
        ("filters", "event:page==/laat"),
    ];
    assert_eq!(
        values(&aggregate(&l, &late).await),
        json!({"visitors": 1, "visits": 0, "pageviews": 1})
    );
    // Both days together: one visit each, three pageviews.
    let both = [
        ("period", "custom"),
        ("date", "2026-11-10,2026-11-11"),
        ("interval", "date"),
        ("metrics", "visitors,visits,pageviews"),
    ];
    assert_eq!(
        timeseries(&l, &both).await,
        json!([
            {"date": "2026-11-10", "visitors": 1, "visits": 1, "pageviews": 1},
            {"date": "2026-11-11", "visitors": 1, "visits": 1, "pageviews": 2},
        ])
    );
}
