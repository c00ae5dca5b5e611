//! Actions and their impact on a history with a known effect injected on a known date,
//! and on one without: counts exactly as generated, p-values as SciPy 1.17 computes them
//! (`scipy.stats.norm`, `binomtest`, `ttest_ind(equal_var=False)`) for the same numbers.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use luister_model::Site;
use luister_store::Goal;
use luister_tests::app::{import_lines, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const EFFECT: &str = "enschede.nl";
const NONE: &str = "hengelo.nl";
const ADMIN: &str = "test-admin-token";
const UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

fn now() -> DateTime<Utc> {
    "2026-11-30T12:00:00Z".parse().unwrap()
}

/// Day 0 is 5 October 2026; the action starts on day 28 (2 November).
fn day(d: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 5).unwrap() + Duration::days(d)
}

/// Visitors per day of /nieuws: before, after with an effect, after without.
fn news_visitors(i: i64, after: bool, effect: bool) -> i64 {
    match (after, effect) {
        (false, _) => 10 + (i * 7) % 5,
        (true, true) => 11 + (i * 3) % 5,
        (true, false) => 10 + (i * 3) % 5,
    }
}

/// 56 days: 20 visitors a day on /schulden (2 apply before; after the start 4 on the site
/// with an effect, 2 on the other), 20 on /inkomen (the control: 2 apply, after the start
/// one more every seventh day on the site with an effect), and a varying number on /nieuws.
fn lines(site: &str, effect: bool) -> Vec<String> {
    let mut out = Vec::new();
    for d in 0..56i64 {
        let after = d >= 28;
        let i = d % 28;
        let at = |n: i64, minutes: i64| {
            (DateTime::<Utc>::from_naive_utc_and_offset(day(d).and_hms_opt(10, 0, 0).unwrap(), Utc)
                + Duration::seconds(n * 20 + minutes * 60))
            .to_rfc3339()
        };
        let mut visit = |n: i64, path: &str, converts: bool| {
            let ip = format!("203.0.{d}.{n}");
            out.push(json!({"timestamp": at(n, 0), "domain": site, "url": format!("https://{site}{path}"), "ip": ip, "user_agent": UA}).to_string());
            if converts {
                out.push(json!({"timestamp": at(n, 1), "domain": site, "name": "Aanvraag verstuurd", "url": format!("https://{site}{path}"), "ip": ip, "user_agent": UA}).to_string());
            }
        };
        let target_converts = if after && effect { 4 } else { 2 };
        for n in 0..20 {
            visit(n, "/schulden", n < target_converts);
        }
        let control_converts = if after && effect && i % 7 == 0 { 3 } else { 2 };
        for n in 0..20 {
            visit(20 + n, "/inkomen", n < control_converts);
        }
        for n in 0..news_visitors(i, after, effect) {
            visit(40 + n, "/nieuws", false);
        }
    }
    out
}

async fn app() -> TestApp {
    let app = TestApp::start(now(), &[Site::new(EFFECT), Site::new(NONE)]).await;
    import_lines(&app.db, &lines(EFFECT, true)).await;
    import_lines(&app.db, &lines(NONE, false)).await;
    for site in [EFFECT, NONE] {
        let mut goal = Goal::event(site, "Aanvraag verstuurd");
        goal.value_cents = 4_500;
        goal.minutes_saved = 20.0;
        app.store().add_goal(&goal).await.unwrap();
    }
    app
}

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = app.call(method, Some(ADMIN), path, body).await;
    assert!((200..300).contains(&status), "{path}: {status} {answer}");
    answer
}

fn close(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
    assert!(
        (got - want).abs() < 1e-4,
        "{what}: {got}, SciPy says {want}"
    );
}

async fn action(app: &TestApp, site: &str, target: Value, control: Option<Value>) -> String {
    let mut body = json!({"title": "Schuldhulppagina herschreven", "owner": "team web", "start_date": "2026-11-02",
        "status": "done", "expected_direction": "up", "target": target});
    if let Some(c) = control {
        body["control"] = c;
    }
    let created = call(
        app,
        Method::POST,
        &format!("/api/luister/v1/sites/{site}/actions"),
        Some(body),
    )
    .await;
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_known_effect_is_significant_and_no_effect_is_not() {
    let app = app().await;
    let target = json!({"type": "goal", "goal": "Aanvraag verstuurd", "page": "/schulden"});
    let control = json!({"type": "goal", "goal": "Aanvraag verstuurd", "page": "/inkomen"});
    let with_effect = action(&app, EFFECT, target.clone(), Some(control.clone())).await;
    let without = action(&app, NONE, target, Some(control)).await;

    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{with_effect}/impact"),
        None,
    )
    .await;
    assert_eq!(r["method"], "two_proportion_z");
    assert_eq!(
        r["before"],
        json!({"successes": 56, "trials": 560, "rate": 10.0})
    );
    assert_eq!(
        r["after"],
        json!({"successes": 112, "trials": 560, "rate": 20.0})
    );
    assert_eq!(
        r["windows"][0],
        json!({"first": "2026-10-05", "last": "2026-11-01", "days": 28})
    );
    assert_eq!(
        r["windows"][1],
        json!({"first": "2026-11-02", "last": "2026-11-29", "days": 28})
    );
    close(&r["difference_pp"], 10.0, "difference");
    close(&r["p_value"], 2.782787792290108e-06, "p");
    assert_eq!(r["significant"], true);
    assert_eq!(r["as_expected"], true);
    close(
        &r["control"]["difference_in_differences"],
        9.285714285714288,
        "did",
    );
    close(&r["control"]["se"], 2.7892115671244375, "did se");
    close(&r["control"]["p_value"], 0.000871102866467569, "did p");
    assert_eq!(
        (
            r["control"]["after"]["successes"].as_u64(),
            r["control"]["after"]["trials"].as_u64()
        ),
        (Some(60), Some(560))
    );
    close(
        &r["control"]["after"]["rate"],
        60.0 / 5.6,
        "control rate after",
    );
    close(&r["value"]["extra_conversions"], 56.0, "extra conversions");
    close(&r["value"]["eur"], 56.0 * 45.0, "euros");
    close(&r["value"]["hours"], 56.0 * 20.0 / 60.0, "hours");
    assert!(
        r["verdict"].as_str().unwrap().starts_with("Significant"),
        "{}",
        r["verdict"]
    );
    assert!(r["robustness"]["placebo"]["runs"].as_u64().unwrap() >= 1);
    assert_eq!(
        r["power"],
        Value::Null,
        "no power section for a significant result"
    );

    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{without}/impact?lang=en"),
        None,
    )
    .await;
    assert_eq!(
        r["after"],
        json!({"successes": 56, "trials": 560, "rate": 10.0})
    );
    close(&r["p_value"], 1.0, "p without an effect");
    assert_eq!(r["significant"], false);
    assert!(
        r["verdict"]
            .as_str()
            .unwrap()
            .starts_with("Not significant"),
        "{}",
        r["verdict"]
    );
}

#[tokio::test]
async fn small_steps_add_up_with_their_uncertainty() {
    let app = app().await;
    let goal = |page: &str| json!({"type": "goal", "goal": "Aanvraag verstuurd", "page": page});
    action(&app, EFFECT, goal("/schulden"), None).await;
    action(&app, EFFECT, goal("/inkomen"), None).await;
    let s = call(
        &app,
        Method::GET,
        &format!("/api/luister/v1/sites/{EFFECT}/impact/summary?from=2026-10-01&to=2026-11-30"),
        None,
    )
    .await;
    assert_eq!(s["actions"].as_array().unwrap().len(), 2);
    assert_eq!(s["combined"]["actions"], 2);
    // /schulden: +56 conversions; /inkomen: +4 (60 against 56).
    close(&s["combined"]["extra_conversions"], 60.0, "sum");
    close(&s["combined"]["eur"], 60.0 * 45.0, "euros");
    let each: Vec<(f64, f64)> = s["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let ci = &a["impact"]["value"]["extra_conversions_ci95"];
            (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap())
        })
        .collect();
    let z = 1.959963984540054;
    let se = each
        .iter()
        .map(|(lo, hi)| ((hi - lo) / (2.0 * z)).powi(2))
        .sum::<f64>()
        .sqrt();
    let ci = &s["combined"]["extra_conversions_ci95"];
    close(&ci[0], 60.0 - z * se, "combined interval");
    let none = call(
        &app,
        Method::GET,
        &format!("/api/luister/v1/sites/{EFFECT}/impact/summary?from=2025-01-01&to=2025-12-31"),
        None,
    )
    .await;
    assert_eq!(none["combined"]["actions"], 0);
}

#[tokio::test]
async fn a_bounce_rate_target_counts_visits_and_bounces_exactly() {
    let app = app().await;
    let id = action(
        &app,
        EFFECT,
        json!({"type": "metric", "metric": "bounce_rate"}),
        None,
    )
    .await;
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{id}/impact"),
        None,
    )
    .await;
    assert_eq!(r["method"], "two_proportion_z");
    // Every visit is one pageview; those that apply interact. Before: 1,456 visits, of
    // which 2 + 2 a day apply; after: 1,482 visits, 4 + 2 a day (3 every seventh day).
    assert_eq!(
        (
            r["before"]["successes"].as_u64(),
            r["before"]["trials"].as_u64()
        ),
        (Some(1344), Some(1456))
    );
    assert_eq!(
        (
            r["after"]["successes"].as_u64(),
            r["after"]["trials"].as_u64()
        ),
        (Some(1310), Some(1482))
    );
    close(&r["p_value"], 0.0003316607964127662, "p");
    let (status, answer) = app
        .call(Method::POST, Some(ADMIN), &format!("/api/luister/v1/sites/{EFFECT}/actions"),
              Some(json!({"title": "x", "start_date": "2026-11-02", "target": {"type": "metric", "metric": "bounce_rate", "filters": "event:page==/"}})))
        .await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn a_count_target_is_judged_on_its_daily_values() {
    let app = app().await;
    let target = json!({"type": "metric", "metric": "visitors", "filters": "event:page==/nieuws"});
    let with_effect = action(&app, EFFECT, target.clone(), None).await;
    let without = action(&app, NONE, target, None).await;
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{with_effect}/impact"),
        None,
    )
    .await;
    assert_eq!(r["method"], "welch_t_daily");
    assert_eq!(r["before"]["total"], 336);
    assert_eq!(r["after"]["total"], 362);
    close(&r["p_value"], 0.020232052325297376, "Welch p");
    close(&r["poisson_p_value"], 0.3440201092106643, "Poisson p");
    assert_eq!(r["significant"], true);
    // The regression with weekdays and a trend is less sure: statsmodels 0.15 gives
    // β = 0.0516 (+5.3 %), HAC p = 0.1893 for this series.
    let its = &r["robustness"]["interrupted_time_series"];
    close(&its["p_value"], 0.18925698006396496, "ITS p");
    close(
        &its["level_change_percent"],
        (0.05161020246504444f64.exp() - 1.0) * 100.0,
        "ITS level change",
    );
    assert_eq!(its["lags"], 3);
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{without}/impact"),
        None,
    )
    .await;
    assert_eq!(r["after"]["total"], 334);
    close(
        &r["p_value"],
        0.8546582980011296,
        "Welch p without an effect",
    );
    assert_eq!(r["significant"], false);
    assert!(r["verdict"]
        .as_str()
        .unwrap()
        .starts_with("Niet significant"));
}

#[tokio::test]
async fn actions_are_managed_and_warn_about_their_windows() {
    let app = app().await;
    let target = json!({"type": "goal", "goal": "Aanvraag verstuurd", "page": "/schulden"});
    let id = action(&app, EFFECT, target.clone(), None).await;
    // A second action on the same target inside the windows is named in the warnings.
    action(&app, EFFECT, target, None).await;
    let list = call(
        &app,
        Method::GET,
        &format!("/api/luister/v1/sites/{EFFECT}/actions"),
        None,
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    let patched = call(
        &app,
        Method::PATCH,
        &format!("/api/luister/v1/sites/{EFFECT}/actions/{id}"),
        Some(json!({"title": "Nieuwe tekst", "status": "active"})),
    )
    .await;
    assert_eq!(
        (patched["title"].as_str(), patched["status"].as_str()),
        (Some("Nieuwe tekst"), Some("active"))
    );
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{id}/impact?before_days=10&after_days=10"),
        None,
    )
    .await;
    let warnings = r["robustness"]["warnings"].to_string();
    assert!(warnings.contains("hele weken"), "{warnings}");
    assert!(!warnings.contains("veranderde de meting"), "{warnings}");
    // A goal changed inside the windows (as the audit log records it) is named.
    app.store()
        .audit(luister_store::AuditEntry {
            at: "2026-11-05T12:00:00Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
                .timestamp() as u32,
            actor: "cli test".into(),
            action: "goal.add".into(),
            site_id: EFFECT.into(),
            subject: "x".into(),
        })
        .await
        .unwrap();
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/actions/{id}/impact?before_days=10&after_days=10"),
        None,
    )
    .await;
    let warnings = r["robustness"]["warnings"].to_string();
    assert!(
        warnings.contains("Op 2026-11-05 veranderde de meting zelf (goal.add)"),
        "{warnings}"
    );
    assert!(
        warnings.contains("Schuldhulppagina herschreven"),
        "{warnings}"
    );

    for (body, needle) in [
        (
            json!({"title": "x", "start_date": "2026-11-02", "target": {"type": "goal", "goal": "Bestaat niet"}}),
            "no goal",
        ),
        (
            json!({"title": "x", "start_date": "2026-11-02", "target": {"type": "metric", "metric": "visit_duration"}}),
            "visit_duration",
        ),
        (
            json!({"title": "", "start_date": "2026-11-02", "target": {"type": "metric", "metric": "visitors"}}),
            "title",
        ),
    ] {
        let (status, answer) = app
            .call(
                Method::POST,
                Some(ADMIN),
                &format!("/api/luister/v1/sites/{EFFECT}/actions"),
                Some(body),
            )
            .await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer.to_string().contains(needle), "{answer}");
    }
    let (status, answer) = app
        .call(
            Method::GET,
            Some(ADMIN),
            &format!("/api/v1/actions/{id}/impact?before_days=0"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = app
        .call(
            Method::DELETE,
            Some(ADMIN),
            &format!("/api/luister/v1/sites/{EFFECT}/actions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .call(
            Method::GET,
            Some(ADMIN),
            &format!("/api/v1/actions/{id}/impact"),
            None,
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_cycle_report_compares_with_the_cycle_before() {
    let app = app().await;
    let target = json!({"type": "goal", "goal": "Aanvraag verstuurd", "page": "/schulden"});
    action(&app, EFFECT, target, None).await;
    call(
        &app,
        Method::PUT,
        &format!("/api/luister/v1/sites/{EFFECT}/cycle"),
        Some(json!({"weeks": 4, "start_date": "2026-10-05"})),
    )
    .await;
    let cycles = call(
        &app,
        Method::GET,
        &format!("/api/v1/cycles?site_id={EFFECT}"),
        None,
    )
    .await;
    assert_eq!(
        cycles["cycles"][1],
        json!({"number": 1, "first": "2026-11-02", "last": "2026-11-29"})
    );
    let r = call(
        &app,
        Method::GET,
        &format!("/api/v1/cycles/report?site_id={EFFECT}&cycle=previous"),
        None,
    )
    .await;
    assert_eq!(r["cycle"]["first"], "2026-11-02");
    assert_eq!(
        r["previous_cycle"],
        json!({"number": 0, "first": "2026-10-05", "last": "2026-11-01"})
    );
    assert_eq!(r["has_data"], true);
    let visitors = r["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "visitors")
        .unwrap();
    assert_eq!(
        (visitors["value"].as_f64(), visitors["previous"].as_f64()),
        (Some(1482.0), Some(1456.0))
    );
    // Daily visitors are those of /nieuws plus 40: the same Welch test as the count target.
    close(
        &visitors["p_value"],
        0.020232052325297376,
        "Welch p of the daily visitors",
    );
    assert_eq!(visitors["significant"], true);
    // The previous cycle crosses the switch to winter time (25 October): still 28 local days.
    assert_eq!(r["visitors_per_day"].as_array().unwrap().len(), 28);
    assert_eq!(r["previous_visitors_per_day"].as_array().unwrap().len(), 28);
    let goal = &r["goals"][0]["conversion_rate"];
    assert_eq!(goal["test"], "two_proportion_z");
    close(&goal["value"], 172.0 / 1482.0 * 100.0, "conversion rate");
    close(
        &goal["previous"],
        112.0 / 1456.0 * 100.0,
        "previous conversion rate",
    );
    assert_eq!(r["actions"].as_array().unwrap().len(), 1);
    assert_eq!(r["actions"][0]["impact"]["significant"], true);
    assert!(r["movers"]["pages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["value"] == "/nieuws"));

    let empty = call(
        &app,
        Method::GET,
        &format!("/api/v1/cycles/report?site_id={EFFECT}&cycle=2025-06-01"),
        None,
    )
    .await;
    assert_eq!(empty["has_data"], false);
    assert_eq!(empty["actions"], json!([]));
    let (status, _) = app
        .call(
            Method::GET,
            Some(ADMIN),
            &format!("/api/v1/cycles/report?site_id={EFFECT}&cycle=volgende"),
            None,
        )
        .await;
    assert_eq!(status, 400);
}
