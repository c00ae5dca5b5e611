//! Site-search reports on known searches: zero results, exits, refinements, new terms, what came next.

use crate::query_fixture::*;
use luister_query::{params, SearchReport};
use serde_json::{json, Value};

/// 12 November: "huur" 3× (one without results, one exit, one refined), "paspoort" 2× in one
/// visit (first refined, second an exit), "huurtoeslag" once without results.
/// 11 November: "paspoort" and "rijbewijs".
fn visits() -> Vec<Visit> {
    vec![
        visit(1, 1, "2026-11-12T09:00:00Z")
            .source("Google")
            .search(0, "huur", 3)
            .page(30, "/toeslagen")
            .search(60, "huurtoeslag", 0)
            .page(90, "/huurtoeslag"),
        visit(2, 2, "2026-11-12T10:00:00Z")
            .search(0, "huur", 0)
            .engagement(30),
        visit(3, 3, "2026-11-12T11:00:00Z")
            .search(0, "paspoort", 5)
            .search(20, "paspoort", 5),
        visit(4, 4, "2026-11-12T12:00:00Z")
            .page(0, "/")
            .search_event(5, "huur", -1)
            .page(10, "/huurtoeslag")
            .event(50, "Aanvraag verstuurd"),
        visit(5, 5, "2026-11-11T09:00:00Z")
            .search(0, "paspoort", 2)
            .search(10, "rijbewijs", 1),
    ]
}

async fn report(l: &Loaded, report: SearchReport, extra: &[(&str, &str)]) -> Value {
    let mut pairs = vec![("period", "day"), ("date", "2026-11-12")];
    pairs.extend_from_slice(extra);
    let q = params::search_terms(site(), &p(&pairs), now(), report).unwrap();
    serde_json::to_value(l.engine.search_terms(&q).await.unwrap()).unwrap()["results"].clone()
}

#[tokio::test]
async fn terms_with_zero_results_exits_and_refinements() {
    let l = load(&[SITE], visits()).await;
    assert_eq!(
        report(&l, SearchReport::Terms, &[]).await,
        json!([
            {"term": "huur", "searches": 3, "visitors": 3, "zero_results": 1, "zero_result_rate": 33.33,
             "exit_rate": 33.33, "refinement_rate": 33.33},
            {"term": "paspoort", "searches": 2, "visitors": 1, "zero_results": 0, "zero_result_rate": 0.0,
             "exit_rate": 50.0, "refinement_rate": 50.0},
            {"term": "huurtoeslag", "searches": 1, "visitors": 1, "zero_results": 1, "zero_result_rate": 100.0,
             "exit_rate": 0.0, "refinement_rate": 0.0},
        ])
    );
    let limited = report(&l, SearchReport::Terms, &[("limit", "1"), ("page", "2")]).await;
    assert_eq!(limited[0]["term"], "paspoort");
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let filtered = report(
        &l,
        SearchReport::Terms,
        &[("filters", "visit:source==Google")],
    )
    .await;
    let terms: Vec<&str> = filtered
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["huur", "huurtoeslag"]);
}

#[tokio::test]
async fn zero_results_new_terms_and_change() {
    let l = load(&[SITE], visits()).await;
    let zero = report(&l, SearchReport::ZeroResults, &[]).await;
    let pairs: Vec<(String, u64)> = zero
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["term"].as_str().unwrap().into(),
                t["zero_results"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [("huur".to_string(), 1), ("huurtoeslag".to_string(), 1)]
    );
    let new = report(&l, SearchReport::New, &[]).await;
    let terms: Vec<&str> = new
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["term"].as_str().unwrap())
        .collect();
    assert_eq!(terms, ["huur", "huurtoeslag"]);
    let compared = report(&l, SearchReport::Terms, &[("compare", "previous_period")]).await;
    let changes: Vec<(&str, i64)> = compared
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["term"].as_str().unwrap(), t["change"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [("huur", 100), ("paspoort", 100), ("huurtoeslag", 100)]
    );
    // The day before: "paspoort" once then "rijbewijs" (a refinement, then the exit).
    let before = params::search_terms(
        site(),
        &p(&[("period", "day"), ("date", "2026-11-11")]),
        now(),
        SearchReport::Terms,
    )
    .unwrap();
    let before = serde_json::to_value(l.engine.search_terms(&before).await.unwrap()).unwrap();
    assert_eq!(before["results"][0]["term"], "paspoort");
    assert_eq!(before["results"][0]["refinement_rate"], json!(100.0));
    assert_eq!(before["results"][1]["exit_rate"], json!(100.0));
}

#[tokio::test]
async fn what_visitors_did_after_a_search() {
    let l = load(&[SITE], visits()).await;
    l.db.store
        .add_goal(&luister_store::Goal::event(SITE, "Aanvraag verstuurd"))
        .await
        .unwrap();
    let q = params::search_after(
        site(),
        &p(&[
            ("period", "day"),
            ("date", "2026-11-12"),
            ("term", " Huur "),
        ]),
        now(),
    )
    .unwrap();
    let got = serde_json::to_value(l.engine.search_after(&q).await.unwrap()).unwrap();
    assert_eq!(
        got,
        json!({
            "term": "huur", "visits": 3, "visitors": 3, "converted_visits": 1, "converted_visitors": 1,
            "conversion_rate": 33.33,
            "pages": [
                {"page": "(none)", "visits": 1, "visitors": 1},
                {"page": "/huurtoeslag", "visits": 1, "visitors": 1},
                {"page": "/toeslagen", "visits": 1, "visitors": 1},
            ]
        })
    );
}
