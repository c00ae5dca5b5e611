//! Plausible v1 stats (aggregate, timeseries, breakdown, realtime) on known events,
//! asserting exact numbers for every metric, property and filter form.

use crate::query_fixture::*;
use luister_query::{params, RealtimeQuery};
use serde_json::{json, Value};

const DAY: [(&str, &str); 2] = [("period", "day"), ("date", "2026-11-02")];
const ALL: &str = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";

/// Six visits of five visitors on Monday 2 November 2026 (Amsterdam, UTC+1), plus
/// events just outside that day. Worked out by hand:
/// visitors 5, visits 6, pageviews 10, events 12, bounces 3 (B, D, F) → 50 %.
/// Visit-level metrics take each visit that started on the day whole, so E counts with
/// its three pageviews and 2400 s although the last is on 3 November (as in Plausible):
/// durations 150+0+100+10+2400+0 = 2660 → 443 s, views per visit 11/6 = 1.83. Event-level
/// metrics (pageviews, events) count only what happened on the day.
fn monday() -> Vec<Visit> {
    vec![
        // A: Google, three pages and a conversion with a custom property.
        visit(1, 11, "2026-11-02T10:00:00Z")
            .source("Google")
            .with(|e| {
                e.referrer = "google.com".into();
                e.channel = "Organic Search".into();
                e.city = "Enschede".into();
                e.region = "NL-OV".into();
            })
            .device("Desktop", "Firefox", "Linux")
            .page(0, "/")
            .page(60, "/schulden/hulp")
            .page(120, "/schulden/hulp/aanvragen")
            .event_with_prop(150, "Aanvraag verstuurd", "wijk", "Noord"),
        // B: Bing, bounce.
        visit(2, 21, "2026-11-02T11:00:00Z")
            .source("Bing")
            .device("Mobile", "Safari", "iOS")
            .page(0, "/schulden/hulp"),
        // C: the same visitor later, direct from Germany.
        visit(2, 22, "2026-11-02T15:00:00Z")
            .country("DE")
            .device("Mobile", "Safari", "iOS")
            .page(0, "/")
            .page(100, "/contact"),
        // D: newsletter campaign from Belgium; a non-interactive event keeps it a bounce.
        visit(3, 31, "2026-11-02T20:00:00Z")
            .source("Google")
            .country("BE")
            .with(|e| {
                e.utm_source = "nieuwsbrief".into();
                e.utm_medium = "email".into();
                e.utm_campaign = "nov".into();
            })
            .device("Desktop", "Chrome", "Windows")
            .page(0, "/contact")
            .passive_event(10, "Scroll"),
        // E: starts 23:30 local; the pageview at 00:10 local belongs to the next day.
        visit(4, 41, "2026-11-02T22:30:00Z")
            .source("Google")
            .device("Tablet", "Chrome", "Android")
            .page(0, "/")
            .engagement(20)
            .page(40, "/schulden/info")
            .page(2400, "/volgende-dag"),
        // F: 00:00:00 local, the first second of the day.
        visit(6, 61, "2026-11-01T23:00:00Z").page(0, "/"),
        // The last second of the day before.
        visit(5, 51, "2026-11-01T22:59:59Z").page(0, "/gisteren"),
    ]
}

fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    DAY.iter().chain(extra).copied().collect()
}

#[tokio::test]
async fn aggregate_every_metric_exactly() {
    let l = load(&[SITE], monday()).await;
    let got = values(&aggregate(&l, &with(&[("metrics", ALL)])).await);
    assert_eq!(
        got,
        json!({"visitors": 5, "visits": 6, "pageviews": 10, "views_per_visit": 1.83,
               "bounce_rate": 50, "visit_duration": 443, "events": 12})
    );
    // Without visit-level metrics the counts must agree.
    let got = values(
        &aggregate(
            &l,
            &with(&[("metrics", "visitors,visits,pageviews,events")]),
        )
        .await,
    );
    assert_eq!(
        got,
        json!({"visitors": 5, "visits": 6, "pageviews": 10, "events": 12})
    );
}

#[tokio::test]
async fn aggregate_compares_with_the_previous_period() {
    let l = load(&[SITE], monday()).await;
    let got = aggregate(
        &l,
        &with(&[
            ("metrics", "visitors,bounce_rate"),
            ("compare", "previous_period"),
        ]),
    )
    .await;
    // 1 November: only visitor 5 (one bounce) → visitors +400 %, bounce rate 50 − 100 points.
    assert_eq!(
        got,
        json!({"visitors": {"value": 5, "change": 400}, "bounce_rate": {"value": 50, "change": -50}})
    );
}

#[tokio::test]
async fn aggregate_compares_with_the_same_day_a_year_earlier() {
    let mut visits = monday();
    // 2 November 2025: two visitors, one page each (bounces).
    visits.push(visit(90, 90, "2025-11-02T09:00:00Z").page(0, "/"));
    visits.push(visit(91, 91, "2025-11-02T11:00:00Z").page(0, "/afval"));
    let l = load(&[SITE], visits).await;
    let got = aggregate(
        &l,
        &with(&[
            ("metrics", "visitors,bounce_rate"),
            ("compare", "year_over_year"),
        ]),
    )
    .await;
    // 5 visitors against 2 → +150 %; bounce rate 50 against 100 → −50 points.
    assert_eq!(
        got,
        json!({"visitors": {"value": 5, "change": 150}, "bounce_rate": {"value": 50, "change": -50}})
    );
}

#[tokio::test]
async fn filters_with_wildcards_negation_or_and_and() {
    let l = load(&[SITE], monday()).await;
    let agg = |f: &'static str| {
        let pairs = with(&[("metrics", "visitors,visits,pageviews"), ("filters", f)]);
        let l = &l;
        async move { values(&aggregate(l, &pairs).await) }
    };
    // ** crosses /, * does not: /schulden/hulp/aanvragen only matches **.
    assert_eq!(
        agg("event:page==/schulden/**").await,
        json!({"visitors": 3, "visits": 3, "pageviews": 4})
    );
    assert_eq!(
        agg("event:page==/schulden/*").await,
        json!({"visitors": 3, "visits": 3, "pageviews": 3})
    );
    assert_eq!(
        agg("event:page!=/").await,
        json!({"visitors": 4, "visits": 5, "pageviews": 6})
    );
    assert_eq!(
        agg("event:page==/contact|/schulden/info").await,
        json!({"visitors": 3, "visits": 3, "pageviews": 3})
    );
    assert_eq!(
        agg("visit:source==Google|Bing").await,
        json!({"visitors": 4, "visits": 4, "pageviews": 7})
    );
    assert_eq!(
        agg("visit:country!=NL").await,
        json!({"visitors": 2, "visits": 2, "pageviews": 3})
    );
    assert_eq!(
        agg("event:page==/schulden/**;visit:country!=DE").await,
        json!({"visitors": 3, "visits": 3, "pageviews": 4})
    );
    assert_eq!(
        agg("visit:source==Google|Bing;visit:country!=NL").await,
        json!({"visitors": 1, "visits": 1, "pageviews": 1})
    );
    assert_eq!(
        agg("visit:entry_page==/schulden/*").await,
        json!({"visitors": 1, "visits": 1, "pageviews": 1})
    );
    assert_eq!(
        agg("visit:exit_page==/contact").await,
        json!({"visitors": 2, "visits": 2, "pageviews": 3})
    );
    assert_eq!(
        agg("event:props:wijk==Noord").await,
        json!({"visitors": 1, "visits": 1, "pageviews": 0})
    );
    assert_eq!(
        agg("event:name==Scroll").await,
        json!({"visitors": 1, "visits": 1, "pageviews": 0})
    );
    assert_eq!(
        agg("visit:city==Ens*").await,
        json!({"visitors": 1, "visits": 1, "pageviews": 3})
    );
    // Visit metrics under an event filter: the visits that contain a matching event.
    let pairs = with(&[
        ("metrics", "visits,bounce_rate,visit_duration"),
        ("filters", "event:page==/contact"),
    ]);
    assert_eq!(
        values(&aggregate(&l, &pairs).await),
        json!({"visits": 2, "bounce_rate": 50, "visit_duration": 55})
    );
}

#[tokio::test]
async fn goal_filter_and_conversion_rate() {
    let l = load(&[SITE], monday()).await;
    let pairs = with(&[
        ("metrics", "visitors,events,conversion_rate"),
        ("filters", "event:goal==Aanvraag verstuurd"),
    ]);
    assert_eq!(
        values(&aggregate(&l, &pairs).await),
        json!({"visitors": 1, "events": 1, "conversion_rate": 20.0})
    );
    let pairs = with(&[
        ("metrics", "visitors,conversion_rate"),
        ("filters", "event:goal==Visit /contact;visit:country!=NL"),
    ]);
    // Of the two non-NL visitors both visited /contact.
    assert_eq!(
        values(&aggregate(&l, &pairs).await),
        json!({"visitors": 2, "conversion_rate": 100.0})
    );
}

#[tokio::test]
async fn breakdown_by_page_with_entry_based_bounce_rate() {
    let l = load(&[SITE], monday()).await;
    let got = breakdown(
        &l,
        &with(&[
            ("property", "event:page"),
            ("metrics", "visitors,pageviews,bounce_rate,visit_duration"),
        ]),
    )
    .await;
    assert_eq!(
        got,
        json!([
            // Entered by A, C, E (whole: 2400 s) and F: (150+100+2400+0)/4.
            {"page": "/", "visitors": 4, "pageviews": 4, "bounce_rate": 25, "visit_duration": 663},
            {"page": "/contact", "visitors": 2, "pageviews": 2, "bounce_rate": 100, "visit_duration": 10},
            {"page": "/schulden/hulp", "visitors": 2, "pageviews": 2, "bounce_rate": 100, "visit_duration": 0},
            {"page": "/schulden/hulp/aanvragen", "visitors": 1, "pageviews": 1, "bounce_rate": 0, "visit_duration": 0},
            {"page": "/schulden/info", "visitors": 1, "pageviews": 1, "bounce_rate": 0, "visit_duration": 0},
        ])
    );
    let page2 = breakdown(
        &l,
        &with(&[("property", "event:page"), ("limit", "2"), ("page", "2")]),
    )
    .await;
    assert_eq!(
        page2,
        json!([{"page": "/schulden/hulp", "visitors": 2}, {"page": "/schulden/hulp/aanvragen", "visitors": 1}])
    );
}

#[tokio::test]
async fn breakdown_by_visit_properties() {
    let l = load(&[SITE], monday()).await;
    let by = |prop: &'static str, metrics: &'static str| {
        let pairs = with(&[("property", prop), ("metrics", metrics)]);
        let l = &l;
        async move { breakdown(l, &pairs).await }
    };
    assert_eq!(
        by(
            "visit:source",
            "visitors,visits,bounce_rate,views_per_visit"
        )
        .await,
        json!([
            // A 3, D 1 and E 3 pageviews (E's last is on 3 November, the visit started on the 2nd).
            {"source": "Google", "visitors": 3, "visits": 3, "bounce_rate": 33, "views_per_visit": 2.33},
            {"source": "Direct / None", "visitors": 2, "visits": 2, "bounce_rate": 50, "views_per_visit": 1.5},
            {"source": "Bing", "visitors": 1, "visits": 1, "bounce_rate": 100, "views_per_visit": 1.0},
        ])
    );
    assert_eq!(
        by("visit:device", "visitors,visits").await,
        json!([{"device": "Desktop", "visitors": 3, "visits": 3}, {"device": "Mobile", "visitors": 1, "visits": 2},
               {"device": "Tablet", "visitors": 1, "visits": 1}])
    );
    assert_eq!(
        by("visit:entry_page", "visitors,bounce_rate").await,
        json!([{"entry_page": "/", "visitors": 4, "bounce_rate": 25}, {"entry_page": "/contact", "visitors": 1, "bounce_rate": 100},
               {"entry_page": "/schulden/hulp", "visitors": 1, "bounce_rate": 100}])
    );
    assert_eq!(
        by("visit:exit_page", "visits").await[0],
        json!({"exit_page": "/contact", "visits": 2})
    );
    assert_eq!(
        by("visit:country", "visitors").await,
        json!([{"country": "NL", "visitors": 4}, {"country": "BE", "visitors": 1}, {"country": "DE", "visitors": 1}])
    );
    let simple = [
        (
            "visit:browser",
            json!([["Chrome", 2], ["Firefox", 2], ["Safari", 1]]),
        ),
        (
            "visit:os",
            json!([["Windows", 2], ["Android", 1], ["Linux", 1], ["iOS", 1]]),
        ),
        ("visit:browser_version", json!([["133.0", 5]])),
        ("visit:os_version", json!([["10", 5]])),
        (
            "visit:channel",
            json!([["Direct", 4], ["Organic Search", 1]]),
        ),
        (
            "visit:referrer",
            json!([["(not set)", 4], ["google.com", 1]]),
        ),
        (
            "visit:utm_source",
            json!([["(not set)", 4], ["nieuwsbrief", 1]]),
        ),
        ("visit:utm_medium", json!([["(not set)", 4], ["email", 1]])),
        ("visit:utm_campaign", json!([["(not set)", 4], ["nov", 1]])),
        ("visit:utm_content", json!([["(not set)", 5]])),
        ("visit:utm_term", json!([["(not set)", 5]])),
        ("visit:region", json!([["(not set)", 4], ["NL-OV", 1]])),
        ("visit:city", json!([["(not set)", 4], ["Enschede", 1]])),
    ];
    for (prop, want) in simple {
        let key = prop.trim_start_matches("visit:");
        let rows = by(prop, "visitors").await;
        let got: Vec<Value> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| json!([r[key], r["visitors"]]))
            .collect();
        assert_eq!(Value::Array(got), want, "{prop}");
    }
}

#[tokio::test]
async fn breakdown_by_goal_and_custom_property() {
    let l = load(&[SITE], monday()).await;
    let mut goal = luister_store::Goal::event(SITE, "Aanvraag verstuurd");
    goal.value_cents = 100;
    l.db.store.add_goal(&goal).await.unwrap();
    l.db.store
        .add_goal(&luister_store::Goal::page(SITE, "/contact"))
        .await
        .unwrap();
    let got = breakdown(
        &l,
        &with(&[
            ("property", "event:goal"),
            ("metrics", "visitors,events,conversion_rate"),
        ]),
    )
    .await;
    assert_eq!(
        got,
        json!([{"goal": "Visit /contact", "visitors": 2, "events": 2, "conversion_rate": 40.0},
               {"goal": "Aanvraag verstuurd", "visitors": 1, "events": 1, "conversion_rate": 20.0}])
    );
    let only = breakdown(
        &l,
        &with(&[
            ("property", "event:goal"),
            ("filters", "event:goal==Aanvraag verstuurd"),
        ]),
    )
    .await;
    assert_eq!(only, json!([{"goal": "Aanvraag verstuurd", "visitors": 1}]));
    let props = breakdown(
        &l,
        &with(&[
            ("property", "event:props:wijk"),
            ("metrics", "visitors,events"),
        ]),
    )
    .await;
    assert_eq!(
        props,
        json!([{"wijk": "(none)", "visitors": 5, "events": 11}, {"wijk": "Noord", "visitors": 1, "events": 1}])
    );
    let filtered = breakdown(
        &l,
        &with(&[
            ("property", "event:props:wijk"),
            ("filters", "event:goal==Aanvraag verstuurd"),
        ]),
    )
    .await;
    assert_eq!(filtered, json!([{"wijk": "Noord", "visitors": 1}]));
    let by_source = breakdown(
        &l,
        &with(&[
            ("property", "visit:source"),
            ("metrics", "visitors,conversion_rate"),
            ("filters", "event:goal==Visit /contact"),
        ]),
    )
    .await;
    assert_eq!(
        by_source,
        json!([{"source": "Direct / None", "visitors": 1, "conversion_rate": 50.0}, {"source": "Google", "visitors": 1, "conversion_rate": 33.33}])
    );
}

#[tokio::test]
async fn timeseries_fills_every_bucket() {
    let l = load(&[SITE], monday()).await;
    let hours = timeseries(&l, &with(&[("metrics", "visitors,pageviews")])).await;
    let hours = hours.as_array().unwrap();
    assert_eq!(hours.len(), 24);
    assert_eq!(
        hours[0],
        json!({"date": "2026-11-02 00:00:00", "visitors": 1, "pageviews": 1})
    );
    assert_eq!(
        hours[1],
        json!({"date": "2026-11-02 01:00:00", "visitors": 0, "pageviews": 0})
    );
    assert_eq!(
        hours[11],
        json!({"date": "2026-11-02 11:00:00", "visitors": 1, "pageviews": 3})
    );
    assert_eq!(
        hours[23],
        json!({"date": "2026-11-02 23:00:00", "visitors": 1, "pageviews": 2})
    );
    let total: u64 = hours.iter().map(|h| h["pageviews"].as_u64().unwrap()).sum();
    assert_eq!(total, 10);

    let days = timeseries(
        &l,
        &[
            ("period", "custom"),
            ("date", "2026-10-31,2026-11-03"),
            ("interval", "date"),
            ("metrics", "visitors,visits,bounce_rate"),
        ],
    )
    .await;
    assert_eq!(
        days,
        json!([
            {"date": "2026-10-31", "visitors": 0, "visits": 0, "bounce_rate": 0},
            {"date": "2026-11-01", "visitors": 1, "visits": 1, "bounce_rate": 100},
            {"date": "2026-11-02", "visitors": 5, "visits": 6, "bounce_rate": 50},
            // E's pageview after midnight: its visit (and visitor) counts on the 2nd, where it started.
            {"date": "2026-11-03", "visitors": 0, "visits": 0, "bounce_rate": 0},
        ])
    );
    let months = timeseries(&l, &[("period", "6mo"), ("date", "2026-11-02")]).await;
    assert_eq!(months.as_array().unwrap().len(), 6);
    assert_eq!(months[5], json!({"date": "2026-11-01", "visitors": 6}));
    let weeks = timeseries(
        &l,
        &[
            ("period", "month"),
            ("date", "2026-11-02"),
            ("interval", "week"),
        ],
    )
    .await;
    assert_eq!(weeks[0], json!({"date": "2026-10-26", "visitors": 1}));
    assert_eq!(weeks[1], json!({"date": "2026-11-02", "visitors": 5}));
}

#[tokio::test]
async fn realtime_counts_the_last_five_minutes() {
    let l = load(&[SITE], monday()).await;
    let q = |now: &str| RealtimeQuery {
        site: site(),
        now: at(now),
    };
    assert_eq!(
        l.engine
            .realtime_visitors(&q("2026-11-02T20:04:00Z"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        l.engine
            .realtime_visitors(&q("2026-11-02T20:05:11Z"))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        l.engine
            .realtime_visitors(&q("2026-11-02T10:02:00Z"))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn other_sites_and_bad_input_do_not_leak() {
    let mut visits = monday();
    visits.push(
        visit(9, 91, "2026-11-02T12:00:00Z")
            .site("hoorn.nl")
            .page(0, "/"),
    );
    let l = load(&[SITE, "hoorn.nl"], visits).await;
    assert_eq!(
        values(&aggregate(&l, &with(&[])).await),
        json!({"visitors": 5})
    );
    // Quotes and regex characters in values are data, not SQL or patterns.
    let nasty = with(&[("filters", "event:page==/x' OR '1'='1|/(.*)")]);
    assert_eq!(values(&aggregate(&l, &nasty).await), json!({"visitors": 0}));
    let q = params::aggregate(
        site(),
        &p(&with(&[("filters", "visit:source==Google\\|Bing")])),
        now(),
    )
    .unwrap();
    assert_eq!(q.scope.filters[0].values, vec!["Google|Bing".to_string()]);
}
