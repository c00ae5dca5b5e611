//! Goals with value: conversions, converters, euros and hours saved; goal CRUD in the store.

use crate::query_fixture::*;
use luister_query::params;
use luister_store::Goal;
use serde_json::json;

fn visits() -> Vec<Visit> {
    vec![
        visit(1, 1, "2026-11-05T09:00:00Z")
            .page(0, "/aanvragen")
            .event(10, "Aanvraag verstuurd")
            .event(20, "Aanvraag verstuurd")
            .page(30, "/bedankt/paspoort"),
        visit(2, 2, "2026-11-05T10:00:00Z")
            .page(0, "/aanvragen")
            .event(10, "Aanvraag verstuurd"),
        visit(3, 3, "2026-11-05T11:00:00Z").page(0, "/bedankt/x/y"),
        visit(4, 4, "2026-11-05T12:00:00Z").page(0, "/"),
    ]
}

async fn with_goals() -> Loaded {
    let l = load(&[SITE], visits()).await;
    let mut aanvraag = Goal::event(SITE, "Aanvraag verstuurd");
    aanvraag.value_cents = 2500;
    aanvraag.minutes_saved = 30.0;
    let mut bedankt = Goal::page(SITE, "/bedankt/**");
    bedankt.display_name = "Bedankt".into();
    bedankt.minutes_saved = 15.0;
    l.db.store.add_goal(&aanvraag).await.unwrap();
    l.db.store.add_goal(&bedankt).await.unwrap();
    l
}

#[tokio::test]
async fn goal_value_report() {
    let l = with_goals().await;
    let q = params::goal_value(
        site(),
        &p(&[("period", "day"), ("date", "2026-11-05")]),
        now(),
    )
    .unwrap();
    let mut got = serde_json::to_value(l.engine.goal_value(&q).await.unwrap()).unwrap();
    for row in got["results"].as_array_mut().unwrap() {
        assert_eq!(row["id"].as_str().unwrap().len(), 12);
        row.as_object_mut().unwrap().remove("id");
    }
    assert_eq!(
        got,
        json!({
            "results": [
                {"goal": "Aanvraag verstuurd", "conversions": 3, "converters": 2, "conversion_rate": 50.0,
                 "value_eur": 75.0, "hours_saved": 1.5},
                {"goal": "Bedankt", "conversions": 2, "converters": 2, "conversion_rate": 50.0,
                 "value_eur": 0.0, "hours_saved": 0.5},
            ],
            "totals": {"visitors": 4, "conversions": 5, "converters": 3, "conversion_rate": 75.0,
                       "value_eur": 75.0, "hours_saved": 2.0}
        })
    );
    let other_day = params::goal_value(
        site(),
        &p(&[("period", "day"), ("date", "2026-11-06")]),
        now(),
    )
    .unwrap();
    let empty = l.engine.goal_value(&other_day).await.unwrap();
    assert_eq!(
        (empty.totals.conversions, empty.totals.conversion_rate),
        (0, 0.0)
    );
}

#[tokio::test]
async fn goal_filter_uses_display_names() {
    let l = with_goals().await;
    let pairs = [
        ("period", "day"),
        ("date", "2026-11-05"),
        ("metrics", "visitors,events,conversion_rate"),
        ("filters", "event:goal==Bedankt"),
    ];
    assert_eq!(
        aggregate(&l, &pairs).await,
        json!({"visitors": {"value": 2}, "events": {"value": 2}, "conversion_rate": {"value": 50.0}})
    );
}

#[tokio::test]
async fn goal_crud() {
    let l = with_goals().await;
    let goals = l.db.store.list_goals(SITE).await.unwrap();
    assert_eq!(goals.len(), 2);
    assert!(
        l.db.store
            .add_goal(&Goal::event(SITE, "Aanvraag verstuurd"))
            .await
            .is_err(),
        "duplicate name"
    );
    assert!(
        l.db.store
            .add_goal(&Goal::event("onbekend.nl", "x"))
            .await
            .is_err(),
        "unknown site"
    );
    l.db.store.delete_goal(SITE, &goals[0].id).await.unwrap();
    assert_eq!(
        l.db.store.list_goals(SITE).await.unwrap(),
        vec![goals[1].clone()]
    );
    assert!(l.db.store.delete_goal(SITE, "nope").await.is_err());
}
