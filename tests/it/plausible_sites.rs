//! Plausible's Sites API on Plausible's paths: what a provisioning script written for
//! Plausible sends, in JSON and as a form, and the answers it expects.

use chrono::{DateTime, Utc};
use luister_model::Site;
use luister_store::TokenScope;
use luister_tests::app::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN: Option<&str> = Some("test-admin-token");

async fn form(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    fields: &[(&str, &str)],
) -> (u16, Value) {
    let response = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_plausible_provisioning_script_gets_plausibles_answers() {
    let now: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
    let app = TestApp::start(now, &[Site::new("enschede.nl")]).await;

    let (status, site) = app
        .call(
            Method::POST,
            ADMIN,
            "/api/v1/sites",
            Some(json!({"domain": "hengelo.nl", "timezone": "Europe/Amsterdam"})),
        )
        .await;
    assert_eq!(
        (status, &site),
        (
            200,
            &json!({"domain": "hengelo.nl", "timezone": "Europe/Amsterdam"})
        )
    );
    let (status, error) = app
        .call(
            Method::POST,
            ADMIN,
            "/api/v1/sites",
            Some(json!({"domain": "hengelo.nl"})),
        )
        .await;
    assert_eq!(status, 409, "{error}");
    assert!(error["error"].is_string());
    let (status, error) = app
        .call(
            Method::POST,
            ADMIN,
            "/api/v1/sites",
            Some(json!({"domain": "x.nl", "timzone": "UTC"})),
        )
        .await;
    assert_eq!(status, 400, "a misspelt parameter is refused: {error}");

    let (status, list) = app
        .call(Method::GET, ADMIN, "/api/v1/sites?limit=1", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        list["sites"],
        json!([{"domain": "enschede.nl", "timezone": "Europe/Amsterdam"}])
    );
    assert_eq!(
        list["meta"],
        json!({"after": null, "before": null, "limit": 1})
    );
    let (_, one) = app
        .call(Method::GET, ADMIN, "/api/v1/sites/hengelo.nl", None)
        .await;
    assert_eq!(
        one,
        json!({"domain": "hengelo.nl", "timezone": "Europe/Amsterdam", "custom_properties": []})
    );
    let (status, error) = app
        .call(
            Method::PUT,
            ADMIN,
            "/api/v1/sites/hengelo.nl",
            Some(json!({"domain": "new.nl"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("cannot change the domain"),
        "{error}"
    );

    // Goals: find or create, in a form as Plausible's examples send them.
    let token = app
        .store()
        .create_token("provisioning", TokenScope::Write, vec!["hengelo.nl".into()])
        .await
        .unwrap();
    let fields = [
        ("site_id", "hengelo.nl"),
        ("goal_type", "event"),
        ("event_name", "Aanvraag verstuurd"),
    ];
    let (status, goal) = form(&app, Method::PUT, "/api/v1/sites/goals", &token, &fields).await;
    assert_eq!(status, 200, "{goal}");
    assert_eq!(
        (goal["goal_type"].as_str(), goal["event_name"].as_str()),
        (Some("event"), Some("Aanvraag verstuurd"))
    );
    assert_eq!(
        (goal["page_path"].clone(), goal["domain"].as_str()),
        (Value::Null, Some("hengelo.nl"))
    );
    let (_, again) = form(&app, Method::PUT, "/api/v1/sites/goals", &token, &fields).await;
    assert_eq!(
        again["id"], goal["id"],
        "the same goal again is found, not doubled"
    );
    let page = json!({"site_id": "hengelo.nl", "goal_type": "page", "page_path": "/schulden/**"});
    let (status, page_goal) = app
        .call(Method::PUT, Some(&token), "/api/v1/sites/goals", Some(page))
        .await;
    assert_eq!(
        (status, page_goal["goal_type"].as_str()),
        (200, Some("page")),
        "{page_goal}"
    );
    let (_, goals) = app
        .call(
            Method::GET,
            Some(&token),
            "/api/v1/sites/goals?site_id=hengelo.nl",
            None,
        )
        .await;
    assert_eq!(goals["goals"].as_array().unwrap().len(), 2, "{goals}");
    // The same goal in Luister's own API, with its value settings.
    let (_, ours) = app
        .call(
            Method::GET,
            Some(&token),
            "/api/luister/v1/sites/hengelo.nl/goals",
            None,
        )
        .await;
    assert_eq!(ours.as_array().unwrap().len(), 2, "{ours}");
    let path = format!("/api/v1/sites/goals/{}", goal["id"].as_str().unwrap());
    let (status, deleted) = app
        .call(
            Method::DELETE,
            Some(&token),
            &path,
            Some(json!({"site_id": "hengelo.nl"})),
        )
        .await;
    assert_eq!((status, deleted), (200, json!({"deleted": true})));
    let (status, _) = app
        .call(
            Method::DELETE,
            Some(&token),
            &path,
            Some(json!({"site_id": "hengelo.nl"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            Method::GET,
            Some(&token),
            "/api/v1/sites/goals?site_id=enschede.nl",
            None,
        )
        .await;
    assert_eq!(
        status, 404,
        "a site the token does not have reads as unknown"
    );

    // Shared links: a link that opens the read-only dashboard.
    let (status, link) = app
        .call(
            Method::PUT,
            ADMIN,
            "/api/v1/sites/shared-links",
            Some(json!({"site_id": "hengelo.nl", "name": "Raad"})),
        )
        .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["name"], "Raad");
    let url = link["url"].as_str().unwrap();
    let path = &url[url.find("/gedeeld/").unwrap()..];
    let page = app
        .http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the shared link opens");
    let (status, _) = app
        .call(
            Method::PUT,
            ADMIN,
            "/api/v1/sites/shared-links",
            Some(json!({"site_id": "hengelo.nl", "name": "Raad"})),
        )
        .await;
    assert_eq!(status, 409, "its URL cannot be shown again");

    let (status, _) = app
        .call(
            Method::DELETE,
            Some(&token),
            "/api/v1/sites/hengelo.nl",
            None,
        )
        .await;
    assert_eq!(status, 403, "removing a site needs an admin token");
    let (status, deleted) = app
        .call(Method::DELETE, ADMIN, "/api/v1/sites/hengelo.nl", None)
        .await;
    assert_eq!((status, deleted), (200, json!({"deleted": true})));
    assert!(app.store().get_site("hengelo.nl").await.unwrap().is_none());
}
