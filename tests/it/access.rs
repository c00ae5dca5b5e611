//! The access matrix: every route of the OpenAPI document, called as anonymous, a `read`
//! and a `write` token of site A, a token of site B and an admin, answers as designed.

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_store::TokenScope;
use luister_tests::app::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

const A: &str = "enschede.nl";
const B: &str = "hoorn.nl";
const ADMIN: &str = "test-admin-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    ReadA,
    WriteA,
    TokenOfB,
    Admin,
}

/// What a route needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    Nothing,
    /// Any valid token (the answer holds what that token may see).
    AnyToken,
    ReadA,
    WriteA,
    Admin,
    /// Admin only, and then this answer (a request Luister refuses with its reason).
    AdminAnswers(u16),
    /// Reading both A and B (a partner network): no caller but the admin reads both.
    ReadAandB,
}

fn expected(needs: Needs, who: Who) -> u16 {
    match (needs, who) {
        (Needs::Nothing, _) => 200,
        (_, Who::Anonymous) => 401,
        (Needs::AnyToken, _) => 200,
        (Needs::AdminAnswers(status), Who::Admin) => status,
        (Needs::AdminAnswers(_), _) => 403,
        (Needs::ReadAandB, Who::Admin) => 200,
        (Needs::ReadAandB, _) => 404,
        (_, Who::Admin) => 200,
        (Needs::Admin, _) => 403,
        // Another site's data does not exist for this caller.
        (_, Who::TokenOfB) => 404,
        (Needs::WriteA, Who::ReadA) => 403,
        _ => 200,
    }
}

/// A request for a route of Plausible's Sites API, whose paths are under `/api/v1/sites`.
fn plausible_request(method: &str, path: &str, ids: &Ids) -> (String, Option<Value>, Needs) {
    match (method, path) {
        ("get", "/sites") => (path.into(), None, Needs::AnyToken),
        ("post", "/sites") => (
            path.into(),
            Some(json!({"domain": format!("p{}", ids.new_site)})),
            Needs::Admin,
        ),
        ("get", "/sites/goals") => (format!("{path}?site_id={A}"), None, Needs::ReadA),
        ("put", "/sites/goals") => (
            path.into(),
            Some(json!({"site_id": A, "goal_type": "event", "event_name": "matrix"})),
            Needs::WriteA,
        ),
        ("delete", "/sites/goals/{goal_id}") => (
            format!("/sites/goals/{}", ids.second_goal),
            Some(json!({"site_id": A})),
            Needs::WriteA,
        ),
        ("put", "/sites/shared-links") => (
            path.into(),
            Some(json!({"site_id": A, "name": "matrix"})),
            Needs::Admin,
        ),
        ("get", "/sites/{site_id}") => (format!("/sites/{A}"), None, Needs::ReadA),
        ("put", "/sites/{site_id}") => (
            format!("/sites/{A}"),
            Some(json!({"domain": "x.nl"})),
            Needs::AdminAnswers(400),
        ),
        ("delete", "/sites/{site_id}") => {
            (format!("/sites/p{}", ids.doomed_site), None, Needs::Admin)
        }
        _ => panic!("{method} {path} is not in the access matrix: add it with what it needs"),
    }
}

/// A concrete request for a route of the document: path, body, and what it needs.
fn request(method: &str, path: &str, ids: &Ids) -> (String, Option<Value>, Needs) {
    let period = format!("site_id={A}&period=day&date=2026-11-02");
    let funnel = json!({"name": "matrix", "steps": [{"page": "/"}, {"event": "Aanvraag"}]});
    match (method, path) {
        ("get", "/openapi.json") => (path.into(), None, Needs::Nothing),
        ("get", "/stats/realtime/visitors") => (format!("{path}?site_id={A}"), None, Needs::ReadA),
        ("get", "/stats/realtime/breakdown") => (
            format!("{path}?site_id={A}&property=event:page"),
            None,
            Needs::ReadA,
        ),
        (
            "get",
            "/stats/aggregate"
            | "/stats/timeseries"
            | "/search/terms"
            | "/search/zero-results"
            | "/search/new"
            | "/goals/value",
        ) => (format!("{path}?{period}"), None, Needs::ReadA),
        ("get", "/stats/breakdown") => (
            format!("{path}?{period}&property=event:page"),
            None,
            Needs::ReadA,
        ),
        ("get", "/search/after") => (format!("{path}?{period}&term=huur"), None, Needs::ReadA),
        ("post", "/funnels/query") => (
            path.into(),
            Some(
                json!({"site_id": A, "period": "day", "date": "2026-11-02", "steps": [{"page": "/"}, {"event": "x"}]}),
            ),
            Needs::ReadA,
        ),
        ("get", "/funnels/{id}") => (
            format!("/funnels/{}?period=day&date=2026-11-02", ids.funnel),
            None,
            Needs::ReadA,
        ),
        ("get", "/sites") => (path.into(), None, Needs::Admin),
        ("get", "/audit") => (format!("{path}?site_id={A}"), None, Needs::Admin),
        ("post", "/sites") => (
            path.into(),
            Some(json!({"domain": ids.new_site})),
            Needs::Admin,
        ),
        ("delete", "/sites/{domain}") => {
            (format!("/sites/{}", ids.doomed_site), None, Needs::Admin)
        }
        ("get", "/sites/{domain}/goals") => (format!("/sites/{A}/goals"), None, Needs::ReadA),
        ("post", "/sites/{domain}/goals") => (
            format!("/sites/{A}/goals"),
            Some(json!({"event_name": ids.new_site, "value_eur": 5})),
            Needs::WriteA,
        ),
        ("delete", "/sites/{domain}/goals/{id}") => (
            format!("/sites/{A}/goals/{}", ids.goal),
            None,
            Needs::WriteA,
        ),
        ("get", "/sites/{domain}/funnels") => (format!("/sites/{A}/funnels"), None, Needs::ReadA),
        ("post", "/sites/{domain}/funnels") => {
            (format!("/sites/{A}/funnels"), Some(funnel), Needs::WriteA)
        }
        ("delete", "/sites/{domain}/funnels/{id}") => (
            format!("/sites/{A}/funnels/{}", ids.funnel),
            None,
            Needs::WriteA,
        ),
        ("get", "/sites/{domain}/actions") => (format!("/sites/{A}/actions"), None, Needs::ReadA),
        ("post", "/sites/{domain}/actions") => (
            format!("/sites/{A}/actions"),
            Some(
                json!({"title": "nieuw", "start_date": "2026-10-26", "target": {"type": "metric", "metric": "pageviews"}}),
            ),
            Needs::WriteA,
        ),
        ("get", "/sites/{domain}/actions/{id}") => (
            format!("/sites/{A}/actions/{}", ids.action),
            None,
            Needs::ReadA,
        ),
        ("patch", "/sites/{domain}/actions/{id}") => (
            format!("/sites/{A}/actions/{}", ids.action),
            Some(json!({"status": "done"})),
            Needs::WriteA,
        ),
        ("delete", "/sites/{domain}/actions/{id}") => (
            format!("/sites/{A}/actions/{}", ids.doomed_action),
            None,
            Needs::WriteA,
        ),
        ("get", "/sites/{domain}/impact/summary") => (
            format!("/sites/{A}/impact/summary?from=2026-10-01&to=2026-11-01&before_days=7&after_days=7"),
            None,
            Needs::ReadA,
        ),
        ("get", "/cycles") => (format!("{path}?site_id={A}"), None, Needs::ReadA),
        ("get", "/cycles/report") => (format!("{path}?site_id={A}&cycle=previous"), None, Needs::ReadA),
        ("put", "/sites/{domain}/cycle") => (
            format!("/sites/{A}/cycle"),
            Some(json!({"weeks": 4, "start_date": "2026-01-05"})),
            Needs::WriteA,
        ),
        ("get", "/network/flows" | "/network/aggregate") => {
            (format!("{path}?site_id={A},{B}&period=day&date=2026-11-02"), None, Needs::ReadAandB)
        }
        ("get", "/alerts") => (format!("{path}?site_id={A}&date=2026-11-01"), None, Needs::ReadA),
        ("get", "/actions/{id}/impact") => (
            format!("/actions/{}/impact?before_days=7&after_days=7", ids.action),
            None,
            Needs::ReadA,
        ),
        _ => panic!("{method} {path} is not in the access matrix: add it with what it needs"),
    }
}

/// Things a call may use up (a delete), made fresh for every caller.
struct Ids {
    goal: String,
    second_goal: String,
    funnel: String,
    action: String,
    doomed_action: String,
    new_site: String,
    doomed_site: String,
}

async fn fresh_ids(app: &TestApp, n: usize) -> Ids {
    let store = app.store();
    let goal = store
        .add_goal(&luister_store::Goal {
            site_id: A.into(),
            id: String::new(),
            event_name: format!("doel{n}"),
            page_path: String::new(),
            display_name: String::new(),
            value_cents: 0,
            minutes_saved: 0.0,
        })
        .await
        .unwrap();
    let second_goal = store
        .add_goal(&luister_store::Goal::event(A, &format!("tweede doel{n}")))
        .await
        .unwrap();
    let funnel = store
        .add_funnel(&luister_store::SavedFunnel {
            site_id: A.into(),
            id: String::new(),
            name: format!("trechter {n}"),
            definition: json!({"steps": [{"page": "/"}, {"event": "x"}], "window_seconds": 3600, "filters": "", "breakdown": null}).to_string(),
        })
        .await
        .unwrap();
    let action = |title: String| luister_store::StoredAction {
        site_id: A.into(),
        id: String::new(),
        title,
        description: String::new(),
        owner: String::new(),
        start_date: "2026-10-26".into(),
        status: "active".into(),
        expected_direction: "up".into(),
        target: json!({"type": "metric", "metric": "visitors"}).to_string(),
        control: String::new(),
        created_at: 0,
    };
    let kept = store
        .put_action(&action(format!("actie {n}")))
        .await
        .unwrap();
    let doomed_action = store.put_action(&action(format!("weg {n}"))).await.unwrap();
    let doomed_site = format!("weg{n}.nl");
    for domain in [doomed_site.clone(), format!("p{doomed_site}")] {
        store.add_site(&Site::new(domain)).await.unwrap();
    }
    Ids {
        goal: goal.id,
        second_goal: second_goal.id,
        funnel: funnel.id,
        action: kept.id,
        doomed_action: doomed_action.id,
        new_site: format!("nieuw{n}.nl"),
        doomed_site,
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_as_designed() {
    let now: DateTime<Utc> = "2026-11-02T12:00:00Z".parse().unwrap();
    let app = TestApp::start(now, &[Site::new(A), Site::new(B)]).await;
    let store = app.store();
    let read_a = store
        .create_token("lezen", TokenScope::Read, vec![A.into()])
        .await
        .unwrap();
    let write_a = store
        .create_token("schrijven", TokenScope::Write, vec![A.into()])
        .await
        .unwrap();
    let token_b = store
        .create_token("hoorn", TokenScope::Write, vec![B.into()])
        .await
        .unwrap();
    let prefix = luister_server::api::PREFIX;
    let (_, doc) = app
        .call(Method::GET, None, &format!("{prefix}/openapi.json"), None)
        .await;
    let callers = [
        (Who::Anonymous, None),
        (Who::ReadA, Some(read_a.as_str())),
        (Who::WriteA, Some(write_a.as_str())),
        (Who::TokenOfB, Some(token_b.as_str())),
        (Who::Admin, Some(ADMIN)),
    ];
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (n, (who, token)) in callers.into_iter().enumerate() {
        let ids = fresh_ids(&app, n).await;
        for (full, operations) in doc["paths"].as_object().unwrap() {
            let own = luister_server::api::LUISTER_PREFIX;
            let (prefix, path) = match full.strip_prefix(own) {
                Some(path) => (own, path),
                None => (prefix, full.strip_prefix(prefix).unwrap()),
            };
            for method in operations.as_object().unwrap().keys() {
                let (target, body, needs) = if prefix == own || !path.starts_with("/sites") {
                    request(method, path, &ids)
                } else {
                    plausible_request(method, path, &ids)
                };
                let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let (status, answer) = app
                    .call(http_method, token, &format!("{prefix}{target}"), body)
                    .await;
                let want = expected(needs, who);
                // Creating answers 201, deleting a goal or funnel 204.
                let ok = match want {
                    200 => (200..300).contains(&status),
                    want => status == want,
                };
                if !ok {
                    wrong.push(format!(
                        "{who:?} {method} {target}: {status} (want {want}) {answer}"
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(checked, 5 * luister_server::api::routes().len());
}
