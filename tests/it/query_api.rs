//! The query API over real HTTP: bearer tokens and site scoping, Plausible response
//! shapes, error answers, management routes, and the OpenAPI document covering every route.

use crate::query_fixture::{at, visit, SITE};
use luister_model::{EventRecord, Site};
use luister_store::TokenScope;
use luister_tests::app::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: &str = "test-admin-token";
const DAY: &str = "period=day&date=2026-11-02";

async fn app() -> TestApp {
    let app = TestApp::start(
        at("2026-11-02T20:02:00Z"),
        &[Site::new(SITE), Site::new("hoorn.nl")],
    )
    .await;
    let visits = vec![
        visit(1, 1, "2026-11-02T10:00:00Z")
            .source("Google")
            .page(0, "/")
            .page(60, "/schulden/hulp")
            .event(90, "Aanvraag verstuurd"),
        visit(2, 2, "2026-11-02T20:00:00Z")
            .page(0, "/")
            .search(30, "huur", 0),
        visit(3, 3, "2026-11-02T12:00:00Z")
            .site("hoorn.nl")
            .page(0, "/"),
    ];
    let records: Vec<EventRecord> = visits.into_iter().flat_map(|v| v.into_records()).collect();
    app.store().insert_events(&records, false).await.unwrap();
    app.store().rebuild_sessions().await.unwrap();
    app
}

async fn call(
    app: &TestApp,
    method: Method,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.call(method, token, path, body).await
}

async fn get(app: &TestApp, token: Option<&str>, path: &str) -> (u16, Value) {
    call(app, Method::GET, token, path, None).await
}

#[tokio::test]
async fn tokens_are_required_and_scoped_to_their_sites() {
    let app = app().await;
    let path = format!("/api/v1/stats/aggregate?site_id={SITE}&{DAY}");
    let (status, body) = get(&app, None, &path).await;
    assert_eq!(
        (status, body),
        (401, json!({"error": "missing or invalid bearer token"}))
    );
    assert_eq!(get(&app, Some("lst_wrong"), &path).await.0, 401);
    assert_eq!(
        get(&app, Some(ADMIN), &path).await,
        (200, json!({"results": {"visitors": {"value": 2}}}))
    );

    let token = app
        .store()
        .create_token("webteam", TokenScope::Read, vec![SITE.into()])
        .await
        .unwrap();
    assert_eq!(get(&app, Some(&token), &path).await.0, 200);
    let other = get(
        &app,
        Some(&token),
        &format!("/api/v1/stats/aggregate?site_id=hoorn.nl&{DAY}"),
    )
    .await;
    let unknown = get(
        &app,
        Some(&token),
        &format!("/api/v1/stats/aggregate?site_id=onbekend.nl&{DAY}"),
    )
    .await;
    assert_eq!(other, (404, json!({"error": "site hoorn.nl not found"})));
    assert_eq!(
        unknown,
        (404, json!({"error": "site onbekend.nl not found"}))
    );
    assert_eq!(
        get(
            &app,
            Some(ADMIN),
            &format!("/api/v1/stats/aggregate?site_id=hoorn.nl&{DAY}")
        )
        .await
        .0,
        200
    );
    assert_eq!(
        get(&app, Some(&token), "/api/luister/v1/sites").await.0,
        403
    );
    // Another site's saved funnel and goals are invisible to this token.
    let funnel = json!({"name": "x", "steps": [{"page": "/"}, {"event": "y"}]});
    let (status, saved) = call(
        &app,
        Method::POST,
        Some(ADMIN),
        "/api/luister/v1/sites/hoorn.nl/funnels",
        Some(funnel),
    )
    .await;
    assert_eq!(status, 201);
    let id = saved["id"].as_str().unwrap();
    assert_eq!(
        get(&app, Some(&token), &format!("/api/v1/funnels/{id}?{DAY}"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(&app, Some(ADMIN), &format!("/api/v1/funnels/{id}?{DAY}"))
            .await
            .0,
        200
    );
    assert_eq!(
        get(&app, Some(&token), "/api/luister/v1/sites/hoorn.nl/goals")
            .await
            .0,
        404
    );
    app.store().revoke_token("webteam").await.unwrap();
    assert_eq!(get(&app, Some(&token), &path).await.0, 401);
}

#[tokio::test]
async fn plausible_shapes_and_errors() {
    let app = app().await;
    let a = Some(ADMIN);
    assert_eq!(
        get(
            &app,
            a,
            &format!("/api/v1/stats/realtime/visitors?site_id={SITE}")
        )
        .await,
        (200, json!(1))
    );
    let (_, agg) = get(&app, a, &format!("/api/v1/stats/aggregate?site_id={SITE}&{DAY}&metrics=visitors,pageviews,bounce_rate&compare=previous_period")).await;
    assert_eq!(
        agg,
        json!({"results": {"visitors": {"value": 2, "change": 100}, "pageviews": {"value": 4, "change": 100},
                           "bounce_rate": {"value": 0, "change": 0}}})
    );
    let (_, series) = get(
        &app,
        a,
        &format!(
            "/api/v1/stats/timeseries?site_id={SITE}&period=custom&date=2026-11-01,2026-11-03"
        ),
    )
    .await;
    assert_eq!(
        series,
        json!({"results": [{"date": "2026-11-01", "visitors": 0}, {"date": "2026-11-02", "visitors": 2}, {"date": "2026-11-03", "visitors": 0}]})
    );
    let (_, pages) = get(&app, a, &format!("/api/v1/stats/breakdown?site_id={SITE}&{DAY}&property=event:page&filters=event:page%3D%3D/schulden/**")).await;
    assert_eq!(
        pages,
        json!({"results": [{"page": "/schulden/hulp", "visitors": 1}]})
    );
    let (_, sources) = get(
        &app,
        a,
        &format!(
            "/api/v1/stats/breakdown?site_id={SITE}&{DAY}&property=visit:source&metrics=visits"
        ),
    )
    .await;
    assert_eq!(
        sources,
        json!({"results": [{"source": "Direct / None", "visits": 1}, {"source": "Google", "visits": 1}]})
    );

    let bad = [
        ("/api/v1/stats/aggregate?period=day", "invalid parameter site_id: missing; give the site's domain"),
        ("/api/v1/stats/aggregate?site_id=enschede.nl&period=week", "invalid parameter period: \"week\" is not one of day, 7d, 30d, month, 6mo, 12mo, custom"),
        ("/api/v1/stats/breakdown?site_id=enschede.nl", "invalid parameter property: missing; allowed: event:page"),
        ("/api/v1/stats/timeseries?site_id=enschede.nl&interval=minute", "invalid parameter interval: \"minute\" is not one of hour, date, week, month"),
        ("/api/v1/stats/aggregate?site_id=enschede.nl&filters=visit:land%3D%3DNL", "invalid parameter filters: unknown property \"visit:land\""),
        ("/api/v1/search/after?site_id=enschede.nl", "invalid parameter term: missing"),
    ];
    for (path, message) in bad {
        let (status, body) = get(&app, a, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            body["error"].as_str().unwrap().starts_with(message),
            "{path}: {body}"
        );
    }
    let (status, body) = call(
        &app,
        Method::POST,
        a,
        "/api/v1/funnels/query",
        Some(json!({"site_id": SITE, "stepz": []})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid json body"),
        "{body}"
    );
    let (status, body) = get(&app, a, "/api/v1/nope").await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("openapi.json"));
}

#[tokio::test]
async fn every_route_answers_and_is_described() {
    let app = app().await;
    let a = Some(ADMIN);
    let (status, doc) = get(&app, None, "/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.0.3");
    let routes = luister_server::api::routes();
    for (method, path, _) in &routes {
        assert!(
            doc["paths"][path][*method].is_object(),
            "{method} {path} missing from openapi.json"
        );
    }
    let described: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(described, routes.len());

    // Management routes, in an order that leaves things to read and delete.
    let (s, site) = call(
        &app,
        Method::POST,
        a,
        "/api/luister/v1/sites",
        Some(json!({"domain": "almere.nl", "salt_rotation": "weekly"})),
    )
    .await;
    assert_eq!(
        (s, site["salt_rotation"].clone(), site["timezone"].clone()),
        (201, json!("weekly"), json!("Europe/Amsterdam"))
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            a,
            "/api/luister/v1/sites",
            Some(json!({"domain": "almere.nl"}))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        call(
            &app,
            Method::POST,
            a,
            "/api/luister/v1/sites",
            Some(json!({"domain": "Niet Goed"}))
        )
        .await
        .0,
        400
    );
    let (_, sites) = get(&app, a, "/api/luister/v1/sites").await;
    assert_eq!(sites.as_array().unwrap().len(), 3);
    let goal = json!({"event_name": "Aanvraag verstuurd", "value_eur": 12.5, "minutes_saved": 20});
    let (s, goal) = call(
        &app,
        Method::POST,
        a,
        &format!("/api/luister/v1/sites/{SITE}/goals"),
        Some(goal),
    )
    .await;
    assert_eq!(
        (s, goal["value_eur"].clone(), goal["display_name"].clone()),
        (201, json!(12.5), json!("Aanvraag verstuurd"))
    );
    assert_eq!(
        get(&app, a, &format!("/api/luister/v1/sites/{SITE}/goals"))
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let funnel = json!({"name": "Schuldhulp", "steps": [{"page": "/"}, {"page": "/schulden/**"}, {"event": "Aanvraag verstuurd"}]});
    let (s, funnel) = call(
        &app,
        Method::POST,
        a,
        &format!("/api/luister/v1/sites/{SITE}/funnels"),
        Some(funnel),
    )
    .await;
    assert_eq!(s, 201);
    let bad_funnel = json!({"name": "x", "steps": [{"page": "/"}]});
    assert_eq!(
        call(
            &app,
            Method::POST,
            a,
            &format!("/api/luister/v1/sites/{SITE}/funnels"),
            Some(bad_funnel)
        )
        .await
        .0,
        400
    );
    assert_eq!(
        get(&app, a, &format!("/api/luister/v1/sites/{SITE}/funnels"))
            .await
            .1[0]["definition"]["window_seconds"],
        3600
    );

    let fid = funnel["id"].as_str().unwrap().to_string();
    let reads = [
        format!("/api/v1/stats/breakdown?site_id={SITE}&{DAY}&property=event:goal&metrics=visitors,conversion_rate"),
        format!("/api/v1/search/terms?site_id={SITE}&{DAY}"),
        format!("/api/v1/search/zero-results?site_id={SITE}&{DAY}"),
        format!("/api/v1/search/new?site_id={SITE}&{DAY}"),
        format!("/api/v1/search/after?site_id={SITE}&{DAY}&term=huur"),
        format!("/api/v1/goals/value?site_id={SITE}&{DAY}"),
        format!("/api/v1/funnels/{fid}?{DAY}"),
    ];
    let mut answers = Vec::new();
    for path in &reads {
        let (s, body) = get(&app, a, path).await;
        assert_eq!(s, 200, "{path}: {body}");
        answers.push(body);
    }
    assert_eq!(
        answers[0],
        json!({"results": [{"goal": "Aanvraag verstuurd", "visitors": 1, "conversion_rate": 50.0}]})
    );
    assert_eq!(answers[2]["results"][0]["term"], "huur");
    assert_eq!(answers[5]["totals"]["value_eur"], json!(12.5));
    let steps: Vec<u64> = answers[6]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["visitors"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [2, 1, 1]);
    let query = json!({"site_id": SITE, "period": "day", "date": "2026-11-02", "steps": [{"page": "/"}, {"search": "huur"}], "breakdown": "visit:source"});
    let (s, ran) = call(&app, Method::POST, a, "/api/v1/funnels/query", Some(query)).await;
    assert_eq!(
        (
            s,
            ran["conversion_rate"].clone(),
            ran["breakdown"].as_array().unwrap().len()
        ),
        (200, json!(50.0), 2)
    );

    let gid = goal["id"].as_str().unwrap();
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            a,
            &format!("/api/luister/v1/sites/{SITE}/goals/{gid}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            a,
            &format!("/api/luister/v1/sites/{SITE}/goals/{gid}"),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            a,
            &format!("/api/luister/v1/sites/{SITE}/funnels/{fid}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            a,
            "/api/luister/v1/sites/almere.nl",
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &app,
            Method::DELETE,
            a,
            "/api/luister/v1/sites/almere.nl",
            None
        )
        .await
        .0,
        404
    );
}
