//! Funnels on known visits: order, window expiry, skipped steps, breakdown, saved funnels.

use crate::query_fixture::*;
use luister_query::{params, FunnelDefinition, FunnelStep, Params};
use serde_json::{json, Value};

/// Steps: a /schulden/* page, any search, then `Aanvraag verstuurd`, within an hour.
/// Reached step 1: visitors 1–4; step 2: 1 and 3; step 3: only 1.
fn visits() -> Vec<Visit> {
    vec![
        // 1: the whole funnel.
        visit(1, 1, "2026-11-10T09:00:00Z")
            .source("Google")
            .page(0, "/schulden/aanvragen")
            .search(60, "huur", 3)
            .event(120, "Aanvraag verstuurd"),
        // 2: skips the search; its conversion does not count without step 2.
        visit(2, 2, "2026-11-10T09:00:00Z")
            .source("Google")
            .page(0, "/schulden/a")
            .event(100, "Aanvraag verstuurd"),
        // 3: converts after the window of an hour has closed.
        visit(3, 3, "2026-11-10T10:00:00Z")
            .source("Bing")
            .page(0, "/schulden/b")
            .search_event(100, "toeslag", 2)
            .event(3700, "Aanvraag verstuurd"),
        // 4: searches first, then the page: only step 1 is in order.
        visit(4, 4, "2026-11-10T11:00:00Z")
            .source("Bing")
            .search(0, "huur", 1)
            .page(10, "/schulden/c"),
        // 5: never starts (the page is two levels deep, * does not cross /).
        visit(5, 5, "2026-11-10T12:00:00Z")
            .page(0, "/schulden/a/b")
            .search(10, "x", 1),
    ]
}

fn definition(window: u32, breakdown: Option<&str>) -> FunnelDefinition {
    FunnelDefinition {
        steps: vec![
            FunnelStep::Page("/schulden/*".into()),
            FunnelStep::Search("*".into()),
            FunnelStep::Event("Aanvraag verstuurd".into()),
        ],
        window_seconds: window,
        filters: String::new(),
        breakdown: breakdown.map(String::from),
    }
}

fn day() -> Params {
    p(&[("period", "day"), ("date", "2026-11-10")])
}

fn reached(v: &Value) -> Vec<u64> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["visitors"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn ordered_steps_within_the_window() {
    let l = load(&[SITE], visits()).await;
    let q = params::funnel(site(), &definition(3600, None), &day(), now()).unwrap();
    let got = serde_json::to_value(l.engine.funnel(&q).await.unwrap()).unwrap();
    assert_eq!(
        got,
        json!({
            "steps": [
                {"step": 1, "label": "Visit /schulden/*", "visitors": 4, "conversion_rate": 100.0,
                 "conversion_rate_from_previous": 100.0, "dropoff": 0, "dropoff_rate": 0.0},
                {"step": 2, "label": "Search", "visitors": 2, "conversion_rate": 50.0,
                 "conversion_rate_from_previous": 50.0, "dropoff": 2, "dropoff_rate": 50.0},
                {"step": 3, "label": "Aanvraag verstuurd", "visitors": 1, "conversion_rate": 25.0,
                 "conversion_rate_from_previous": 50.0, "dropoff": 1, "dropoff_rate": 50.0},
            ],
            "conversion_rate": 25.0
        })
    );
    // A two-hour window lets visitor 3 finish too.
    let q = params::funnel(site(), &definition(7200, None), &day(), now()).unwrap();
    assert_eq!(
        reached(&serde_json::to_value(l.engine.funnel(&q).await.unwrap()).unwrap()),
        [4, 2, 2]
    );
}

#[tokio::test]
async fn breakdown_by_visit_property_and_filters() {
    let l = load(&[SITE], visits()).await;
    let q = params::funnel(
        site(),
        &definition(3600, Some("visit:source")),
        &day(),
        now(),
    )
    .unwrap();
    let got = serde_json::to_value(l.engine.funnel(&q).await.unwrap()).unwrap();
    assert_eq!(reached(&got), [4, 2, 1]);
    let rows = got["breakdown"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["value"].clone(), reached(&rows[0])),
        (json!("Bing"), vec![2, 1, 0])
    );
    assert_eq!(
        (rows[1]["value"].clone(), reached(&rows[1])),
        (json!("Google"), vec![2, 1, 1])
    );
    assert_eq!(rows[1]["conversion_rate"], json!(50.0));
    let mut filtered = definition(3600, None);
    filtered.filters = "visit:source==Google".into();
    let q = params::funnel(site(), &filtered, &day(), now()).unwrap();
    assert_eq!(
        reached(&serde_json::to_value(l.engine.funnel(&q).await.unwrap()).unwrap()),
        [2, 1, 1]
    );
    let mut term = definition(3600, None);
    term.steps[1] = FunnelStep::Search("TOE*".into());
    let q = params::funnel(site(), &term, &day(), now()).unwrap();
    assert_eq!(
        reached(&serde_json::to_value(l.engine.funnel(&q).await.unwrap()).unwrap()),
        [4, 1, 0]
    );
}

#[tokio::test]
async fn empty_range_gives_zeros() {
    let l = load(&[SITE], visits()).await;
    let q = params::funnel(
        site(),
        &definition(3600, None),
        &p(&[("period", "day"), ("date", "2026-11-11")]),
        now(),
    )
    .unwrap();
    let got = serde_json::to_value(l.engine.funnel(&q).await.unwrap()).unwrap();
    assert_eq!(reached(&got), [0, 0, 0]);
    assert_eq!(got["conversion_rate"], json!(0.0));
}

#[tokio::test]
async fn saved_funnels_round_trip() {
    let l = load(&[SITE, "hoorn.nl"], visits()).await;
    let def = serde_json::to_string(&definition(3600, None)).unwrap();
    let saved = luister_store::SavedFunnel {
        site_id: SITE.into(),
        id: String::new(),
        name: "Schuldhulp".into(),
        definition: def,
    };
    let saved = l.db.store.add_funnel(&saved).await.unwrap();
    assert_eq!(saved.id.len(), 12);
    assert_eq!(
        l.db.store.list_funnels(SITE).await.unwrap(),
        vec![saved.clone()]
    );
    assert!(l
        .db
        .store
        .list_funnels("hoorn.nl")
        .await
        .unwrap()
        .is_empty());
    let back: FunnelDefinition = serde_json::from_str(
        &l.db
            .store
            .get_funnel(&saved.id)
            .await
            .unwrap()
            .unwrap()
            .definition,
    )
    .unwrap();
    assert_eq!(back, definition(3600, None));
    assert!(l
        .db
        .store
        .delete_funnel("hoorn.nl", &saved.id)
        .await
        .is_err());
    l.db.store.delete_funnel(SITE, &saved.id).await.unwrap();
    assert!(l.db.store.get_funnel(&saved.id).await.unwrap().is_none());
    let unknown = luister_store::SavedFunnel {
        site_id: "onbekend.nl".into(),
        ..saved
    };
    assert!(l.db.store.add_funnel(&unknown).await.is_err());
}
