//! A partner network on one Luister: which site sends visitors to which page of another
//! (from referrers only), and the sites' figures side by side.

use chrono::{DateTime, Duration, Utc};
use luister_model::Site;
use luister_store::TokenScope;
use luister_tests::app::{import_lines, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const GEMEENTE: &str = "enschede.nl";
const SCHULDHULP: &str = "schuldhulp-enschede.nl";
const VOEDSELBANK: &str = "voedselbank-enschede.nl";

/// (visitors, landing URL, referrer, days before 30 November)
const VISITS: &[(u32, &str, &str, i64)] = &[
    (
        5,
        "https://enschede.nl/schulden",
        "https://www.schuldhulp-enschede.nl/contact",
        3,
    ),
    (
        3,
        "https://schuldhulp-enschede.nl/aanmelden",
        "https://enschede.nl/schulden",
        4,
    ),
    (
        1,
        "https://voedselbank-enschede.nl/",
        "https://loket.enschede.nl/aanvraag",
        5,
    ),
    (2, "https://enschede.nl/", "https://www.google.nl/", 3),
    // Within the gemeente's own site: no flow.
    (
        4,
        "https://enschede.nl/afval",
        "https://www.enschede.nl/",
        2,
    ),
    // Before the range asked.
    (
        6,
        "https://enschede.nl/schulden",
        "https://schuldhulp-enschede.nl/",
        40,
    ),
];

fn lines() -> Vec<String> {
    let end: DateTime<Utc> = "2026-11-30T10:00:00Z".parse().unwrap();
    let mut out = Vec::new();
    let mut client = 0;
    for (visitors, url, referrer, days) in VISITS {
        for _ in 0..*visitors {
            client += 1;
            let domain = url.split('/').nth(2).unwrap();
            let at = end - Duration::days(*days) + Duration::minutes(client);
            out.push(json!({"timestamp": at.to_rfc3339(), "domain": domain, "name": "pageview", "url": url,
                "referrer": referrer, "ip": format!("198.51.100.{client}"), "user_agent": UA}).to_string());
        }
    }
    out
}

#[tokio::test]
async fn flows_between_partner_sites_come_from_referrers() {
    let now: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
    let sites = [
        Site::new(GEMEENTE),
        Site::new(SCHULDHULP),
        Site::new(VOEDSELBANK),
    ];
    let app = TestApp::start(now, &sites).await;
    import_lines(&app.db, &lines()).await;
    let admin = Some("test-admin-token");
    let network = format!("{GEMEENTE},{SCHULDHULP},{VOEDSELBANK}");

    let (status, body) = app
        .call(
            Method::GET,
            admin,
            &format!("/api/v1/network/flows?site_id={network}&period=30d"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"],
        json!([
            {"from": SCHULDHULP, "to": GEMEENTE, "page": "/schulden", "visitors": 5, "visits": 5, "pageviews": 5},
            {"from": GEMEENTE, "to": SCHULDHULP, "page": "/aanmelden", "visitors": 3, "visits": 3, "pageviews": 3},
            {"from": GEMEENTE, "to": VOEDSELBANK, "page": "/", "visitors": 1, "visits": 1, "pageviews": 1},
        ]),
        "google and the gemeente's own pages are no flows; 40 days back is outside 30d"
    );
    let (_, two) = app
        .call(
            Method::GET,
            admin,
            &format!("/api/v1/network/flows?site_id={GEMEENTE},{VOEDSELBANK}&period=30d"),
            None,
        )
        .await;
    assert_eq!(
        two["results"].as_array().unwrap().len(),
        1,
        "only flows within the sites asked: {two}"
    );

    let (status, combined) = app
        .call(
            Method::GET,
            admin,
            &format!(
                "/api/v1/network/aggregate?site_id={network}&period=30d&metrics=visitors,pageviews"
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{combined}");
    for (i, site) in [GEMEENTE, SCHULDHULP, VOEDSELBANK].iter().enumerate() {
        let (_, alone) = app
            .call(
                Method::GET,
                admin,
                &format!(
                    "/api/v1/stats/aggregate?site_id={site}&period=30d&metrics=visitors,pageviews"
                ),
                None,
            )
            .await;
        assert_eq!(combined["results"][i]["site_id"], *site);
        assert_eq!(
            combined["results"][i]["results"], alone["results"],
            "{site}"
        );
    }
    assert_eq!(combined["results"][0]["results"]["visitors"]["value"], 11);

    // A token reads the network only if it reads every site of it.
    let token = app
        .store()
        .create_token(
            "partners",
            TokenScope::Read,
            vec![GEMEENTE.into(), SCHULDHULP.into()],
        )
        .await
        .unwrap();
    let ask = |query: String| {
        let token = token.clone();
        let app = &app;
        async move {
            app.call(
                Method::GET,
                Some(&token),
                &format!("/api/v1/network/flows?{query}"),
                None,
            )
            .await
        }
    };
    let (status, _) = ask(format!("site_id={GEMEENTE},{SCHULDHULP}&period=30d")).await;
    assert_eq!(status, 200);
    let (status, body) = ask(format!("site_id={network}&period=30d")).await;
    assert_eq!(status, 404, "{body}");
    for bad in [
        format!("site_id={GEMEENTE}"),
        format!("site_id={GEMEENTE},{GEMEENTE}"),
        format!("site_id={GEMEENTE},{SCHULDHULP}&filters=event:page==/x"),
    ] {
        let (status, body) = ask(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        let _: &Value = &body;
    }
}
