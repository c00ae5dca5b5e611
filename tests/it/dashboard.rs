//! The dashboard: every number a page shows is the API's number for the same query;
//! sign-in, sessions, CSRF, roles, share links and CSV export hold as designed.

use chrono::{DateTime, Duration, Utc};
use luister_model::{Clock, Site};
use luister_store::{Goal, SavedFunnel, UserRole};
use luister_tests::app::{import_lines, TestApp};
use regex::Regex;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

const SITE: &str = "enschede.nl";
const OTHER: &str = "hengelo.nl";
const ADMIN_TOKEN: &str = "test-admin-token";
const PASSWORD: &str = "lange-zin-als-wachtwoord";
/// The admin's authenticator secret (admins sign in with a second factor).
const ADMIN_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const UAS: [&str; 2] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-12T15:00:00Z")
        .unwrap()
        .into()
}

/// 60 visitors over 12 days: different sources, pages, searches (one without results,
/// one a formula) and applications; a few on the other site.
fn lines() -> Vec<String> {
    let mut lines = Vec::new();
    let referrers = ["https://www.google.nl/", "https://www.bing.com/", ""];
    for i in 0..60u32 {
        let when = now() - Duration::hours(3 + i as i64 * 4);
        let ip = format!("198.51.100.{}", i + 1);
        let ua = UAS[i as usize % 2];
        let domain = if i % 10 == 9 { OTHER } else { SITE };
        let mut line = |minutes: i64, name: &str, url: String, referrer: &str| {
            lines.push(
                json!({
                    "timestamp": (when + Duration::minutes(minutes)).to_rfc3339(),
                    "domain": domain, "name": name, "url": url, "referrer": referrer,
                    "ip": ip, "user_agent": ua,
                })
                .to_string(),
            );
        };
        line(
            0,
            "pageview",
            format!("https://{domain}/"),
            referrers[i as usize % 3],
        );
        if i % 2 == 0 {
            line(1, "pageview", format!("https://{domain}/schulden"), "");
        }
        if i % 3 == 0 {
            let term = ["schuldhulp", "=SUM(1)", "kwijtschelding"][i as usize % 9 / 3];
            line(
                2,
                "pageview",
                format!("https://{domain}/zoeken?q={term}"),
                "",
            );
        }
        if i % 4 == 0 {
            line(
                3,
                "pageview",
                format!("https://{domain}/schulden/aanvragen"),
                "",
            );
            line(
                4,
                "Aanvraag verstuurd",
                format!("https://{domain}/schulden/aanvragen"),
                "",
            );
        }
    }
    // Three visitors on the site right now (two minutes ago).
    for (i, path) in ["/", "/schulden", "/schulden"].iter().enumerate() {
        lines.push(
            json!({
                "timestamp": (now() - Duration::minutes(2)).to_rfc3339(), "domain": SITE, "name": "pageview",
                "url": format!("https://{SITE}{path}"), "referrer": if i == 0 { "https://www.google.nl/" } else { "" },
                "ip": format!("198.51.100.{}", 200 + i), "user_agent": UAS[0],
            })
            .to_string(),
        );
    }
    lines
}

struct Fixture {
    app: TestApp,
    share_secret: String,
}

async fn fixture() -> Fixture {
    let app = TestApp::start(now(), &[Site::new(SITE), Site::new(OTHER)]).await;
    import_lines(&app.db, &lines()).await;
    let store = app.store();
    let mut goal = Goal::event(SITE, "Aanvraag verstuurd");
    goal.value_cents = 4_500;
    goal.minutes_saved = 20.0;
    store.add_goal(&goal).await.unwrap();
    store
        .add_goal(&Goal::page(SITE, "/schulden"))
        .await
        .unwrap();
    let definition =
        json!({"steps": [{"page": "/"}, {"page": "/schulden"}, {"event": "Aanvraag verstuurd"}]});
    store
        .add_funnel(&SavedFunnel {
            site_id: SITE.into(),
            id: String::new(),
            name: "Schuldhulp aanvragen".into(),
            definition: definition.to_string(),
        })
        .await
        .unwrap();
    for (email, role, sites) in [
        ("beheer@enschede.nl", UserRole::Admin, vec![]),
        (
            "analist@enschede.nl",
            UserRole::Analyst,
            vec![SITE.to_string()],
        ),
        (
            "kijker@enschede.nl",
            UserRole::Viewer,
            vec![SITE.to_string()],
        ),
        (
            "kijker@hengelo.nl",
            UserRole::Viewer,
            vec![OTHER.to_string()],
        ),
    ] {
        store.put_user(email, role, sites, PASSWORD).await.unwrap();
    }
    store
        .set_user_totp(
            "beheer@enschede.nl",
            ADMIN_SECRET,
            &["herstel-code1".into()],
        )
        .await
        .unwrap();
    let (_, share_secret) = store
        .create_share_link(SITE, "teamkamer", None)
        .await
        .unwrap();
    Fixture { app, share_secret }
}

/// A browser without JavaScript: cookies, no redirects followed.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn csrf(&self) -> String {
        Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
            .unwrap()
            .captures(&self.body)
            .unwrap_or_else(|| panic!("no csrf in {}", self.body))[1]
            .to_string()
    }
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        Self {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await.unwrap();
        for set in response.headers().get_all("set-cookie") {
            let text = set.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/inloggen").await;
        let csrf = form.csrf();
        self.post(
            "/inloggen",
            &[
                ("email", email),
                ("password", password),
                ("csrf", &csrf),
                ("terug", "/sites"),
            ],
        )
        .await
    }

    async fn signed_in(app: &TestApp, email: &str) -> Self {
        let mut browser = Self::new(app);
        let mut page = browser.sign_in(email, PASSWORD).await;
        if page.location() == "/inloggen/code" {
            let csrf = browser.get("/inloggen/code").await.csrf();
            let code = totp_code(ADMIN_SECRET, app.clock.now().timestamp() as u64);
            page = browser
                .post("/inloggen/code", &[("csrf", &csrf), ("code", &code)])
                .await;
        }
        assert_eq!(
            (page.status, page.location()),
            (303, "/sites"),
            "{}",
            page.body
        );
        browser
    }
}

/// The code an authenticator app shows for `secret` at `unix_seconds`.
fn totp_code(secret: &str, unix_seconds: u64) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(secret).unwrap())
        .build()
        .unwrap()
        .generate(unix_seconds)
        .to_string()
}

fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A number as the page writes it (nl-NL), back to a number; durations to seconds.
fn number(text: &str) -> f64 {
    let text = unescape(text.trim());
    if text.ends_with(" s") || text.contains(" min") {
        let parts: Vec<f64> = text
            .split_whitespace()
            .filter_map(|p| p.parse::<f64>().ok())
            .collect();
        return match parts.as_slice() {
            [s] => *s,
            [m, s] => m * 60.0 + s,
            _ => panic!("duration {text:?}"),
        };
    }
    let cleaned: String = text
        .trim_start_matches("€ ")
        .trim_end_matches('%')
        .trim_end_matches(" uur")
        .replace('.', "")
        .replace(',', ".")
        .replace('−', "-");
    cleaned
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {text:?}"))
}

/// `(row key, metric) → number` of the table with `id` on a page.
fn table(body: &str, id: &str) -> HashMap<(String, String), f64> {
    let start = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = body[start..].find("</table>").unwrap() + start;
    let section = &body[start..end];
    let row = Regex::new(r#"(?s)<tr data-key="([^"]*)">(.*?)</tr>"#).unwrap();
    let cell = Regex::new(r#"data-metric="([a-z_]+)">([^<]+)<"#).unwrap();
    let mut out = HashMap::new();
    for r in row.captures_iter(section) {
        for c in cell.captures_iter(&r[2]) {
            out.insert((unescape(&r[1]), c[1].to_string()), number(&c[2]));
        }
    }
    out
}

/// The KPI tiles: metric → number.
fn kpis(body: &str) -> HashMap<String, f64> {
    Regex::new(r#"class="luister-kpi__value" data-metric="([a-z_]+)">([^<]+)<"#)
        .unwrap()
        .captures_iter(body)
        .map(|c| (c[1].to_string(), number(&c[2])))
        .collect()
}

async fn api(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.call(Method::GET, Some(ADMIN_TOKEN), path, None).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Page value and API value agree to the page's precision.
fn same(page: f64, api: f64, what: &str) {
    // Rates are shown with one decimal, durations in whole seconds.
    let tolerance: f64 = if api.fract() == 0.0 { 0.0 } else { 0.5 };
    assert!(
        (page - api).abs() <= tolerance,
        "{what}: page shows {page}, API says {api}"
    );
}

const TABLES: &[(&str, &str, &[&str])] = &[
    ("pages", "event:page", &["visitors", "pageviews"]),
    ("entry-pages", "visit:entry_page", &["visitors", "visits"]),
    ("exit-pages", "visit:exit_page", &["visitors", "visits"]),
    ("sources", "visit:source", &["visitors", "visits"]),
    ("channels", "visit:channel", &["visitors", "visits"]),
    ("devices", "visit:device", &["visitors"]),
    ("browsers", "visit:browser", &["visitors"]),
    ("operating-systems", "visit:os", &["visitors"]),
    ("goals", "event:goal", &["visitors", "events"]),
];

async fn overview_matches_api(f: &Fixture, browser: &mut Browser, query: &str) {
    let page = browser.get(&format!("/sites/{SITE}?{query}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let shown = kpis(&page.body);
    assert_eq!(shown.len(), 5, "{shown:?}");
    let aggregate = api(
        &f.app,
        &format!("/api/v1/stats/aggregate?site_id={SITE}&{query}&metrics=visitors,visits,pageviews,bounce_rate,visit_duration"),
    )
    .await;
    for (metric, value) in &shown {
        let expected = aggregate["results"][metric]["value"].as_f64().unwrap();
        same(*value, expected, &format!("{query}: {metric}"));
    }
    assert!(shown["visitors"] > 0.0, "the fixture's visitors show");
    let changes = Regex::new(r#"data-change="([a-z_]+)">([^<]+)<"#).unwrap();
    let mut compared = 0;
    for c in changes.captures_iter(&page.body) {
        let api_change = &aggregate["results"][&c[1]]["change"];
        same(
            number(&c[2]),
            api_change.as_f64().unwrap(),
            &format!("{query}: change of {}", &c[1]),
        );
        compared += 1;
    }
    assert_eq!(
        compared > 0,
        query.contains("compare="),
        "{query}: changes shown only when comparing"
    );
    for (id, property, metrics) in TABLES {
        let rows = table(&page.body, id);
        let breakdown = api(
            &f.app,
            &format!("/api/v1/stats/breakdown?site_id={SITE}&{query}&property={property}&metrics={}&limit=10", metrics.join(",")),
        )
        .await;
        let key = property.split(':').nth(1).unwrap();
        let expected = breakdown["results"].as_array().unwrap();
        assert_eq!(
            rows.len(),
            expected.len() * metrics.len(),
            "{query}: {id}: {rows:?} vs {expected:?}"
        );
        for row in expected {
            for metric in *metrics {
                let k = (row[key].as_str().unwrap().to_string(), metric.to_string());
                same(
                    rows[&k],
                    row[metric].as_f64().unwrap(),
                    &format!("{query}: {id} {k:?}"),
                );
            }
        }
    }
    let series = api(
        &f.app,
        &format!("/api/v1/stats/timeseries?site_id={SITE}&{query}&metrics=visitors"),
    )
    .await;
    let chart_total: f64 = table(&page.body, "visitors-chart-table").values().sum();
    let api_total: f64 = series["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["visitors"].as_f64().unwrap())
        .sum();
    same(chart_total, api_total, &format!("{query}: chart table"));
}

#[tokio::test]
async fn every_number_on_the_overview_is_the_apis() {
    let f = fixture().await;
    let mut browser = Browser::signed_in(&f.app, "kijker@enschede.nl").await;
    for query in [
        "period=30d",
        "period=7d&compare=previous_period",
        "period=7d&compare=year_over_year",
        "period=day",
        "period=custom&date=2026-11-05,2026-11-10",
        "period=30d&filters=visit:source%3D%3DGoogle",
        "period=30d&filters=event:page%3D%3D/schulden",
    ] {
        overview_matches_api(&f, &mut browser, query).await;
    }
}

#[tokio::test]
async fn search_goals_and_funnel_pages_show_the_apis_numbers() {
    let f = fixture().await;
    let mut browser = Browser::signed_in(&f.app, "kijker@enschede.nl").await;

    let page = browser
        .get(&format!("/sites/{SITE}/zoektermen?period=30d"))
        .await;
    assert_eq!(page.status, 200);
    for (id, path) in [("terms", "terms"), ("zero-results", "zero-results")] {
        let rows = table(&page.body, id);
        let expected = api(
            &f.app,
            &format!("/api/v1/search/{path}?site_id={SITE}&period=30d&limit=25"),
        )
        .await;
        let expected = expected["results"].as_array().unwrap();
        assert!(!expected.is_empty() || id == "zero-results");
        for row in expected {
            let term = row["term"].as_str().unwrap().to_string();
            for metric in [
                "searches",
                "visitors",
                "zero_result_rate",
                "exit_rate",
                "refinement_rate",
            ] {
                same(
                    rows[&(term.clone(), metric.into())],
                    row[metric].as_f64().unwrap(),
                    &format!("{id} {term} {metric}"),
                );
            }
        }
    }

    let page = browser
        .get(&format!("/sites/{SITE}/doelen?period=30d"))
        .await;
    let rows = table(&page.body, "goals");
    let value = api(
        &f.app,
        &format!("/api/v1/goals/value?site_id={SITE}&period=30d"),
    )
    .await;
    for row in value["results"].as_array().unwrap() {
        let goal = row["goal"].as_str().unwrap().to_string();
        for metric in [
            "conversions",
            "converters",
            "conversion_rate",
            "value_eur",
            "hours_saved",
        ] {
            same(
                rows[&(goal.clone(), metric.into())],
                row[metric].as_f64().unwrap(),
                &format!("goal {goal} {metric}"),
            );
        }
    }
    assert!(rows[&("Aanvraag verstuurd".into(), "value_eur".into())] > 0.0);
    for metric in ["conversions", "converters", "value_eur", "hours_saved"] {
        same(
            rows[&("total".into(), metric.into())],
            value["totals"][metric].as_f64().unwrap(),
            &format!("total {metric}"),
        );
    }

    let funnel_id = f.app.store().list_funnels(SITE).await.unwrap()[0]
        .id
        .clone();
    let page = browser
        .get(&format!(
            "/sites/{SITE}/trechters?period=30d&funnel={funnel_id}"
        ))
        .await;
    let rows = table(&page.body, "funnel-steps");
    let result = api(&f.app, &format!("/api/v1/funnels/{funnel_id}?period=30d")).await;
    for step in result["steps"].as_array().unwrap() {
        let label = step["label"].as_str().unwrap().to_string();
        for metric in [
            "visitors",
            "conversion_rate",
            "conversion_rate_from_previous",
            "dropoff",
        ] {
            same(
                rows[&(label.clone(), metric.into())],
                step[metric].as_f64().unwrap(),
                &format!("step {label} {metric}"),
            );
        }
    }
    assert!(result["steps"][2]["visitors"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn signing_in_and_out_with_sessions_csrf_and_backoff() {
    let f = fixture().await;
    let mut anonymous = Browser::new(&f.app);
    let page = anonymous.get(&format!("/sites/{SITE}?period=7d")).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location(),
        "/inloggen?terug=%2Fsites%2Fenschede%2Enl%3Fperiod%3D7d"
    );
    assert_eq!(anonymous.get("/").await.location(), "/inloggen");

    // A wrong password, an unknown user: the same answer.
    let wrong = anonymous
        .sign_in("kijker@enschede.nl", "niet-het-wachtwoord")
        .await;
    let unknown = anonymous.sign_in("niemand@enschede.nl", PASSWORD).await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    // A form without its cookie's token is refused (login CSRF).
    let mut fresh = Browser::new(&f.app);
    let refused = fresh
        .post(
            "/inloggen",
            &[
                ("email", "kijker@enschede.nl"),
                ("password", PASSWORD),
                ("csrf", "00"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);

    let mut browser = Browser::new(&f.app);
    let signed_in = browser.sign_in("kijker@enschede.nl", PASSWORD).await;
    let cookie = signed_in
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let sites = browser.get("/sites").await;
    assert_eq!(sites.status, 200);
    assert!(
        sites.body.contains(SITE) && !sites.body.contains(OTHER),
        "a viewer sees only their sites"
    );
    let csp = sites
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("frame-ancestors 'none'")
            && !csp.contains("unsafe-inline")
    );

    // Sign-out needs the session's CSRF token, then the session is gone.
    assert_eq!(
        browser.post("/uitloggen", &[("csrf", "0")]).await.status,
        400
    );
    let csrf = sites.csrf();
    assert_eq!(
        browser.post("/uitloggen", &[("csrf", &csrf)]).await.status,
        303
    );
    assert_eq!(browser.get("/sites").await.status, 303);

    // Five failures are free; then the account waits, even with the right password.
    let mut attacker = Browser::new(&f.app);
    for _ in 0..5 {
        assert_eq!(
            attacker
                .sign_in("analist@enschede.nl", "fout-fout-fout")
                .await
                .status,
            401
        );
    }
    assert_eq!(
        attacker
            .sign_in("analist@enschede.nl", PASSWORD)
            .await
            .status,
        429
    );
}

#[tokio::test]
async fn roles_decide_what_a_user_may_see_and_change() {
    let f = fixture().await;
    let mut viewer = Browser::signed_in(&f.app, "kijker@enschede.nl").await;
    let mut other = Browser::signed_in(&f.app, "kijker@hengelo.nl").await;
    let mut analyst = Browser::signed_in(&f.app, "analist@enschede.nl").await;
    let mut admin = Browser::signed_in(&f.app, "beheer@enschede.nl").await;

    // A site a user has no access to does not exist for them.
    for path in [
        "",
        "/zoektermen",
        "/doelen",
        "/trechters",
        "/live",
        "/export.csv?property=visit:source",
    ] {
        assert_eq!(
            other.get(&format!("/sites/{SITE}{path}")).await.status,
            404,
            "{path}"
        );
        assert_eq!(
            viewer.get(&format!("/sites/{SITE}{path}")).await.status,
            200,
            "{path}"
        );
    }
    assert_eq!(viewer.get("/beheer").await.status, 404);
    assert_eq!(analyst.get("/beheer").await.status, 404);

    // A viewer sees no forms and cannot post one.
    let goals = viewer.get(&format!("/sites/{SITE}/doelen")).await;
    assert!(!goals.body.contains("name=\"event_name\""));
    let csrf = goals.csrf();
    let refused = viewer
        .post(
            &format!("/sites/{SITE}/doelen"),
            &[("csrf", &csrf), ("event_name", "Gebeld")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(f.app.store().list_goals(SITE).await.unwrap().len(), 2);

    // An analyst adds a goal and a funnel; without the CSRF token nothing happens.
    let csrf = analyst.get(&format!("/sites/{SITE}/doelen")).await.csrf();
    let no_token = analyst
        .post(
            &format!("/sites/{SITE}/doelen"),
            &[("csrf", "x"), ("event_name", "Gebeld")],
        )
        .await;
    assert_eq!(no_token.status, 400);
    let added = analyst
        .post(
            &format!("/sites/{SITE}/doelen"),
            &[
                ("csrf", &csrf),
                ("event_name", "Gebeld"),
                ("value_euros", "12,50"),
                ("minutes_saved", "15"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let goals = f.app.store().list_goals(SITE).await.unwrap();
    let gebeld = goals
        .iter()
        .find(|g| g.event_name == "Gebeld")
        .expect("added");
    assert_eq!((gebeld.value_cents, gebeld.minutes_saved), (1250, 15.0));
    let saved = analyst
        .post(
            &format!("/sites/{SITE}/trechters"),
            &[
                ("csrf", &csrf),
                ("name", "Zoeken naar aanvraag"),
                ("steps", "search *\npage /schulden/aanvragen"),
                ("window_minutes", "30"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert!(saved.location().contains("/trechters?funnel="));
    let shown = analyst.get(saved.location()).await;
    assert!(shown.body.contains("Zoeken naar aanvraag") && shown.body.contains("funnel-steps"));
    let audit = api(&f.app, "/api/luister/v1/audit").await;
    assert!(
        audit.to_string().contains("user analist@enschede.nl"),
        "{audit}"
    );

    // The admin adds a user in the dashboard; a removed user's session ends.
    let csrf = admin.get("/beheer").await.csrf();
    let page = admin
        .post(
            "/beheer/gebruikers/verwijderen",
            &[("csrf", &csrf), ("email", "kijker@enschede.nl")],
        )
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(viewer.get(&format!("/sites/{SITE}")).await.status, 303);
}

#[tokio::test]
async fn share_links_show_one_site_read_only_and_can_be_revoked() {
    let f = fixture().await;
    let mut guest = Browser::new(&f.app);
    let page = guest
        .get(&format!("/gedeeld/{}?period=30d", f.share_secret))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(SITE) && !page.body.contains(OTHER));
    assert!(!page.body.contains("method=\"post\""), "read-only");
    let monitor = guest
        .get(&format!("/gedeeld/{}/monitor", f.share_secret))
        .await;
    assert_eq!(monitor.status, 200);
    assert!(monitor.body.contains("data-refresh=\"30\""));
    let csv = guest
        .get(&format!(
            "/gedeeld/{}?period=30d&property=visit:source",
            f.share_secret
        ))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.body.starts_with("visit:source,visitors,visits\r\n"));
    // A URL naming another site still shows the link's own.
    let sneaky = guest
        .get(&format!(
            "/gedeeld/{}?site_id={OTHER}&period=30d",
            f.share_secret
        ))
        .await;
    assert!(sneaky.body.contains(SITE) && !sneaky.body.contains(OTHER));
    assert_eq!(guest.get("/gedeeld/onzin").await.status, 404);

    // A protected link asks for its password first.
    let (_, secret) = f
        .app
        .store()
        .create_share_link(OTHER, "met wachtwoord", Some(PASSWORD))
        .await
        .unwrap();
    let locked = guest.get(&format!("/gedeeld/{secret}")).await;
    assert!(locked.body.contains("share-password") && !locked.body.contains("luister-kpi"));
    assert_eq!(
        guest
            .post(&format!("/gedeeld/{secret}"), &[("password", "fout")])
            .await
            .status,
        401
    );
    assert_eq!(
        guest
            .post(&format!("/gedeeld/{secret}"), &[("password", PASSWORD)])
            .await
            .status,
        303
    );
    let open = guest.get(&format!("/gedeeld/{secret}")).await;
    assert!(open.body.contains("luister-kpi") && open.body.contains(OTHER));

    // Revoked in the admin page: gone at once.
    let mut admin = Browser::signed_in(&f.app, "beheer@enschede.nl").await;
    let link = f.app.store().list_share_links(Some(SITE)).await.unwrap()[0].clone();
    let csrf = admin.get("/beheer").await.csrf();
    let revoked = admin
        .post(
            &format!("/beheer/deellinks/{}/intrekken", link.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(
        guest
            .get(&format!("/gedeeld/{}", f.share_secret))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn csv_exports_are_safe_in_a_spreadsheet() {
    let f = fixture().await;
    let mut browser = Browser::signed_in(&f.app, "kijker@enschede.nl").await;
    let page = browser
        .get(&format!(
            "/sites/{SITE}/zoektermen/export.csv?period=30d&report=terms"
        ))
        .await;
    assert_eq!(page.status, 200);
    assert!(page.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(page.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let lines: Vec<&str> = page.body.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "term,searches,visitors,zero_results,zero_result_rate,exit_rate,refinement_rate"
    );
    let formula = lines
        .iter()
        .find(|l| l.contains("sum(1)"))
        .expect("the formula term is exported");
    assert!(formula.starts_with("'=sum(1)"), "{formula}");
    assert!(lines.iter().all(|l| !l.starts_with('=')));
    let sources = browser
        .get(&format!(
            "/sites/{SITE}/export.csv?period=30d&property=visit:source"
        ))
        .await;
    let expected = api(&f.app, &format!("/api/v1/stats/breakdown?site_id={SITE}&period=30d&property=visit:source&metrics=visitors,visits&limit=1000")).await;
    assert_eq!(
        sources.body.split("\r\n").filter(|l| !l.is_empty()).count(),
        1 + expected["results"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn assets_are_content_hashed_and_cached() {
    let f = fixture().await;
    let mut browser = Browser::new(&f.app);
    let page = browser.get("/inloggen").await;
    let css = Regex::new(r#"href="(/assets/luister-[0-9a-f]{12}\.css)""#)
        .unwrap()
        .captures(&page.body)
        .expect("stylesheet link")[1]
        .to_string();
    let asset = browser.get(&css).await;
    assert_eq!(asset.status, 200);
    assert_eq!(
        asset.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        asset.body.contains(".utrecht-button"),
        "NL Design System components are embedded"
    );
    assert!(asset
        .body
        .contains("--utrecht-button-primary-action-background-color"));
    assert_eq!(
        browser.get("/assets/luister-000000000000.css").await.status,
        404
    );
    let statement = browser.get("/toegankelijkheid").await;
    assert_eq!(statement.status, 200);
    assert!(statement.body.contains("WCAG 2.1"));
}

#[tokio::test]
async fn admins_sign_in_with_a_second_factor() {
    let f = fixture().await;
    let now = f.app.clock.now().timestamp() as u64;
    // The enrolled admin: password, then code; without the code there is no session.
    let mut browser = Browser::new(&f.app);
    let page = browser.sign_in("beheer@enschede.nl", PASSWORD).await;
    assert_eq!(page.location(), "/inloggen/code");
    assert_eq!(
        browser.get("/beheer").await.status,
        303,
        "no access between password and code"
    );
    let csrf = browser.get("/inloggen/code").await.csrf();
    assert_eq!(
        browser
            .post("/inloggen/code", &[("csrf", &csrf), ("code", "000000")])
            .await
            .status,
        401
    );
    let code = totp_code(ADMIN_SECRET, now);
    let ok = browser
        .post("/inloggen/code", &[("csrf", &csrf), ("code", &code)])
        .await;
    assert_eq!((ok.status, ok.location()), (303, "/sites"));
    assert_eq!(browser.get("/beheer").await.status, 200);
    // The same code again (a replay) is refused; a recovery code works once.
    let mut replay = Browser::new(&f.app);
    replay.sign_in("beheer@enschede.nl", PASSWORD).await;
    let csrf = replay.get("/inloggen/code").await.csrf();
    assert_eq!(
        replay
            .post("/inloggen/code", &[("csrf", &csrf), ("code", &code)])
            .await
            .status,
        401
    );
    let recovered = replay
        .post(
            "/inloggen/code",
            &[("csrf", &csrf), ("code", "HERSTEL-CODE1")],
        )
        .await;
    assert_eq!(recovered.status, 303);
    let mut again = Browser::new(&f.app);
    again.sign_in("beheer@enschede.nl", PASSWORD).await;
    let csrf = again.get("/inloggen/code").await.csrf();
    assert_eq!(
        again
            .post(
                "/inloggen/code",
                &[("csrf", &csrf), ("code", "herstel-code1")]
            )
            .await
            .status,
        401
    );

    // An admin without a second factor must set one up before anything else.
    f.app
        .store()
        .put_user("nieuw@enschede.nl", UserRole::Admin, vec![], PASSWORD)
        .await
        .unwrap();
    let mut fresh = Browser::new(&f.app);
    let page = fresh.sign_in("nieuw@enschede.nl", PASSWORD).await;
    assert_eq!(page.location(), "/account/tweestaps");
    assert_eq!(fresh.get("/sites").await.status, 303);
    let setup = fresh.get("/account/tweestaps").await;
    assert!(setup.body.contains("<svg role=\"img\""), "a QR code");
    let secret = Regex::new(r#"id="totp-secret">([A-Z2-7]+)<"#)
        .unwrap()
        .captures(&setup.body)
        .unwrap()[1]
        .to_string();
    let csrf = setup.csrf();
    let wrong = fresh
        .post(
            "/account/tweestaps",
            &[("csrf", &csrf), ("secret", &secret), ("code", "123456")],
        )
        .await;
    assert_eq!(wrong.status, 400);
    let done = fresh
        .post(
            "/account/tweestaps",
            &[
                ("csrf", &csrf),
                ("secret", &secret),
                ("code", &totp_code(&secret, now)),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let codes = Regex::new(r"<li><code>([a-z0-9]{4}-[a-z0-9]{4})</code></li>")
        .unwrap()
        .captures_iter(&done.body)
        .count();
    assert_eq!(codes, 10);
    assert_eq!(
        fresh.get("/beheer").await.status,
        200,
        "a full session after set-up"
    );
    assert!(
        f.app
            .store()
            .get_user("nieuw@enschede.nl")
            .await
            .unwrap()
            .unwrap()
            .has_totp
    );
}

#[tokio::test]
async fn realtime_page_shows_the_apis_last_five_minutes() {
    let f = fixture().await;
    let mut browser = Browser::signed_in(&f.app, "kijker@enschede.nl").await;
    let page = browser.get(&format!("/sites/{SITE}/live")).await;
    assert_eq!(page.status, 200);
    let now = Regex::new(r#"data-metric="realtime_visitors">([^<]+)<"#)
        .unwrap()
        .captures(&page.body)
        .unwrap()[1]
        .to_string();
    let visitors = api(
        &f.app,
        &format!("/api/v1/stats/realtime/visitors?site_id={SITE}"),
    )
    .await;
    assert_eq!(number(&now), visitors.as_f64().unwrap());
    assert_eq!(visitors, 3);
    for (id, property, key) in [
        ("live-pages", "event:page", "page"),
        ("live-sources", "visit:source", "source"),
    ] {
        let rows = table(&page.body, id);
        let expected = api(
            &f.app,
            &format!("/api/v1/stats/realtime/breakdown?site_id={SITE}&property={property}"),
        )
        .await;
        let expected = expected["results"].as_array().unwrap();
        assert!(!expected.is_empty());
        assert_eq!(rows.len(), expected.len(), "{id}");
        for row in expected {
            let k = (
                row[key].as_str().unwrap().to_string(),
                "visitors".to_string(),
            );
            same(
                rows[&k],
                row["visitors"].as_f64().unwrap(),
                &format!("{id} {k:?}"),
            );
        }
    }
    let pages = api(
        &f.app,
        &format!("/api/v1/stats/realtime/breakdown?site_id={SITE}&property=event:page"),
    )
    .await;
    assert_eq!(
        pages["results"][0],
        json!({"page": "/schulden", "visitors": 2})
    );
    assert!(page.body.contains("data-refresh=\"10\""));
}

#[tokio::test]
async fn admins_make_and_revoke_api_tokens_in_beheer() {
    let f = fixture().await;
    let mut admin = Browser::signed_in(&f.app, "beheer@enschede.nl").await;
    let csrf = admin.get("/beheer").await.csrf();
    let made = admin
        .post(
            "/beheer/tokens",
            &[
                ("csrf", &csrf),
                ("name", "intranet"),
                ("scope", "read"),
                ("sites", SITE),
            ],
        )
        .await;
    assert_eq!(made.status, 200);
    let token = Regex::new(r#"id="created-secret">(lst_[0-9a-f]+)<"#)
        .unwrap()
        .captures(&made.body)
        .expect("token shown once")[1]
        .to_string();
    let (status, _) = f
        .app
        .call(
            Method::GET,
            Some(&token),
            &format!("/api/v1/stats/aggregate?site_id={SITE}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = f
        .app
        .call(
            Method::GET,
            Some(&token),
            &format!("/api/v1/stats/aggregate?site_id={OTHER}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "a read token of one site");
    let id = f
        .app
        .store()
        .list_tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "intranet")
        .unwrap()
        .id;
    let revoked = admin
        .post(
            &format!("/beheer/tokens/{id}/intrekken"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(revoked.status, 200);
    assert!(
        !revoked.body.contains(&token),
        "the token is never shown again"
    );
    let (status, _) = f
        .app
        .call(
            Method::GET,
            Some(&token),
            &format!("/api/v1/stats/aggregate?site_id={SITE}"),
            None,
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn only_the_monitor_may_be_framed_and_only_where_configured() {
    let app = TestApp::start_tweaked(
        luister_tests::TestDb::new().await,
        now(),
        &[Site::new(SITE)],
        |s| {
            s.dashboard.monitor_frame_ancestors = vec!["https://intranet.enschede.nl".into()];
        },
    )
    .await;
    let (_, secret) = app
        .store()
        .create_share_link(SITE, "teamkamer", None)
        .await
        .unwrap();
    let mut guest = Browser::new(&app);
    let monitor = guest.get(&format!("/gedeeld/{secret}/monitor")).await;
    let csp = monitor.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors https://intranet.enschede.nl"),
        "{csp}"
    );
    assert!(monitor.headers.get("x-frame-options").is_none());
    let overview = guest.get(&format!("/gedeeld/{secret}")).await;
    let csp = overview.headers["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(overview.headers["x-frame-options"], "DENY");
}

#[tokio::test]
async fn the_first_page_with_its_styles_and_script_is_small() {
    let f = fixture().await;
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let response = http
                .get(path)
                .header("accept-encoding", "gzip")
                .send()
                .await
                .unwrap();
            assert_eq!(response.headers()["content-encoding"], "gzip");
            response.bytes().await.unwrap().len()
        }
    };
    let page = http
        .get(format!("{}/inloggen", f.app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let assets: Vec<String> = Regex::new(r#"(?:href|src)="(/assets/[^"]+)""#)
        .unwrap()
        .captures_iter(&page)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(assets.len(), 2, "one stylesheet, one script");
    let mut total = get(format!("{}/inloggen", f.app.base)).await;
    for asset in assets {
        total += get(format!("{}{asset}", f.app.base)).await;
    }
    eprintln!("first page with CSS and JS: {total} bytes gzipped");
    assert!(total <= 100 * 1024, "{total} bytes gzipped");
}

#[tokio::test]
async fn analysts_edit_what_a_goal_is_worth_and_every_table_exports() {
    let f = fixture().await;
    let mut analyst = Browser::signed_in(&f.app, "analist@enschede.nl").await;
    let goal = f
        .app
        .store()
        .list_goals(SITE)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.event_name == "Aanvraag verstuurd")
        .unwrap();
    let csrf = analyst.get(&format!("/sites/{SITE}/doelen")).await.csrf();
    let changed = analyst
        .post(
            &format!("/sites/{SITE}/doelen/{}", goal.id),
            &[
                ("csrf", &csrf),
                ("display_name", "Aanvraag schuldhulp"),
                ("value_euros", "1.250,75"),
                ("minutes_saved", "30"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let stored = f
        .app
        .store()
        .list_goals(SITE)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.id == goal.id)
        .unwrap();
    assert_eq!(
        (
            stored.display_name.as_str(),
            stored.value_cents,
            stored.minutes_saved
        ),
        ("Aanvraag schuldhulp", 125_075, 30.0)
    );
    assert_eq!(
        stored.event_name, "Aanvraag verstuurd",
        "what converts stays"
    );

    let goals_csv = analyst
        .get(&format!("/sites/{SITE}/doelen/export.csv?period=30d"))
        .await;
    assert!(goals_csv
        .body
        .starts_with("goal,conversions,converters,conversion_rate,value_eur,hours_saved\r\n"));
    let value = api(
        &f.app,
        &format!("/api/v1/goals/value?site_id={SITE}&period=30d"),
    )
    .await;
    let row = value["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["goal"] == "Aanvraag schuldhulp")
        .unwrap()
        .clone();
    let line = format!(
        "Aanvraag schuldhulp,{},{},",
        row["conversions"], row["converters"]
    );
    assert!(goals_csv.body.contains(&line), "{}", goals_csv.body);
    assert!(row["value_eur"].as_f64().unwrap() > 1000.0);

    let funnel_id = f.app.store().list_funnels(SITE).await.unwrap()[0]
        .id
        .clone();
    let funnel_csv = analyst
        .get(&format!(
            "/sites/{SITE}/trechters/export.csv?period=30d&funnel={funnel_id}"
        ))
        .await;
    let result = api(&f.app, &format!("/api/v1/funnels/{funnel_id}?period=30d")).await;
    let lines: Vec<&str> = funnel_csv
        .body
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 1 + result["steps"].as_array().unwrap().len());
    assert!(
        lines[1].starts_with(&format!("1,Visit /,{},", result["steps"][0]["visitors"])),
        "{}",
        lines[1]
    );

    let sites = analyst.get("/sites").await;
    let shown = table(&sites.body, "sites");
    let week = api(
        &f.app,
        &format!("/api/v1/stats/aggregate?site_id={SITE}&period=7d"),
    )
    .await;
    same(
        shown[&(SITE.to_string(), "visitors".to_string())],
        week["results"]["visitors"]["value"].as_f64().unwrap(),
        "sites list",
    );
    assert!(sites.body.contains("class=\"luister-spark\""));
}

#[tokio::test]
async fn actions_are_added_measured_and_marked_in_the_dashboard() {
    let f = fixture().await;
    let mut analyst = Browser::signed_in(&f.app, "analist@enschede.nl").await;
    let csrf = analyst.get(&format!("/sites/{SITE}/acties")).await.csrf();
    let made = analyst
        .post(
            &format!("/sites/{SITE}/acties"),
            &[
                ("csrf", csrf.as_str()),
                ("title", "Schuldhulppagina herschreven"),
                ("owner", "team web"),
                ("start_date", "2026-11-06"),
                ("status", "done"),
                ("expected_direction", "up"),
                ("target_type", "goal"),
                ("goal", "Aanvraag verstuurd"),
                ("page", "/schulden"),
                ("control_page", "/"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let detail_path = made.location().to_string();
    let id = detail_path.rsplit('/').next().unwrap().to_string();
    let detail = analyst.get(&detail_path).await;
    assert_eq!(detail.status, 200);
    let impact = api(&f.app, &format!("/api/v1/actions/{id}/impact")).await;
    let verdict = Regex::new(r#"(?s)<p class="utrecht-paragraph" data-verdict>(.*?)</p>"#)
        .unwrap()
        .captures(&detail.body)
        .unwrap()[1]
        .to_string();
    assert_eq!(unescape(&verdict), impact["verdict"].as_str().unwrap());
    let shown_p = Regex::new(r#"data-metric="p_value">([^<]+)<"#)
        .unwrap()
        .captures(&detail.body)
        .unwrap()[1]
        .to_string();
    let api_p = impact["p_value"].as_f64().unwrap();
    if api_p >= 0.001 {
        same(
            number(&shown_p),
            (api_p * 1000.0).round() / 1000.0,
            "p-value",
        );
    }
    assert!(
        impact["control"].is_object(),
        "the control page became a control"
    );
    let listed = analyst.get(&format!("/sites/{SITE}/acties")).await;
    assert!(
        listed.body.contains("Schuldhulppagina herschreven")
            && listed.body.contains("data-verdict")
    );
    // Yesterday's alerts (the clock stands on 12 November) are on the page, as the API has them.
    let alerts = api(
        &f.app,
        &format!("/api/v1/alerts?site_id={SITE}&date=2026-11-11"),
    )
    .await;
    assert!(listed.body.contains("id=\"alerts\""));
    for alert in alerts["results"].as_array().unwrap() {
        let message = alert["message"]
            .as_str()
            .unwrap()
            .replace('\u{201c}', "&#8220;");
        assert!(
            unescape(&listed.body).contains(alert["message"].as_str().unwrap())
                || listed.body.contains(&message),
            "{alert}"
        );
    }
    let overview = analyst.get(&format!("/sites/{SITE}?period=30d")).await;
    assert!(
        overview.body.contains("class=\"marker\"")
            && overview.body.contains("id=\"chart-actions\""),
        "marked on the chart"
    );

    // A viewer reads but cannot add; the analyst changes the status and deletes.
    let mut viewer = Browser::signed_in(&f.app, "kijker@enschede.nl").await;
    let page = viewer.get(&format!("/sites/{SITE}/acties")).await;
    assert!(
        page.body.contains("Schuldhulppagina herschreven")
            && !page.body.contains("id=\"new-action\"")
    );
    let refused = viewer
        .post(
            &format!("/sites/{SITE}/acties"),
            &[
                ("csrf", &page.csrf()),
                ("title", "x"),
                ("start_date", "2026-11-06"),
                ("target_type", "metric"),
                ("metric", "visitors"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    let status = analyst
        .post(
            &format!("/sites/{SITE}/acties/{id}/status"),
            &[("csrf", &csrf), ("status", "active")],
        )
        .await;
    assert_eq!(status.status, 303);
    assert_eq!(
        api(
            &f.app,
            &format!("/api/luister/v1/sites/{SITE}/actions/{id}")
        )
        .await["status"],
        "active"
    );
    let deleted = analyst
        .post(
            &format!("/sites/{SITE}/acties/{id}/verwijderen"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(deleted.status, 303);
    assert_eq!(analyst.get(&detail_path).await.status, 404);
}

#[tokio::test]
async fn the_cycle_page_and_its_report_file_show_the_apis_report() {
    let f = fixture().await;
    let mut viewer = Browser::signed_in(&f.app, "kijker@enschede.nl").await;
    let page = viewer.get(&format!("/sites/{SITE}/cyclus")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let report = api(
        &f.app,
        &format!("/api/v1/cycles/report?site_id={SITE}&cycle=current"),
    )
    .await;
    let visitors = report["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "visitors")
        .unwrap();
    let shown = Regex::new(r#"(?s)<tr data-key="Bezoekers"><th scope="row">Bezoekers</th><td class="luister-num" data-figure="value">([^<]+)<"#)
        .unwrap()
        .captures(&page.body)
        .expect("the visitors row")[1]
        .to_string();
    same(
        number(&shown),
        visitors["value"].as_f64().unwrap(),
        "cycle visitors",
    );
    assert!(visitors["value"].as_f64().unwrap() > 0.0);
    let href = Regex::new(r#"href="(/sites/[^"]+/cyclus/rapport\.html\?cycle=[0-9-]+)""#)
        .unwrap()
        .captures(&page.body)
        .unwrap()[1]
        .to_string();
    let file = viewer.get(&href).await;
    assert_eq!(file.status, 200);
    assert!(file.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    assert!(file.body.contains("<style>") && file.body.contains("<svg"));
    assert!(
        !file.body.contains("src=\"")
            && !file.body.contains("/assets/")
            && !file.body.contains("<link"),
        "self-contained"
    );
    let empty = viewer
        .get(&format!("/sites/{SITE}/cyclus?cycle=2024-01-10"))
        .await;
    assert!(
        empty.body.contains("id=\"no-data\""),
        "a cycle without data says so"
    );
}
