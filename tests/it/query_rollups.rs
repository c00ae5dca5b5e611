//! Unfiltered reports from the salt-period rollups give the same answers as the raw
//! tables: a few thousand seeded-random events of two sites with daily salts (one in
//! Europe/Amsterdam across the October DST switch, one in Asia/Kolkata with its half-hour
//! offset) and one with weekly salts are imported through the pipeline, so `sessions`
//! holds unmerged visit states with cancel rows; rollups are built as of 8 November, so
//! ranges are answered from rollups alone, from rollups and raw tables, or raw alone, and
//! every report is asked of an engine with and without rollups. Emptying the rollups and
//! importing into a built period show that the rollups are read, and invalidated.

use luister_model::{SaltRotation, Site};
use luister_query::{params, FunnelDefinition, Params, QueryEngine, SearchReport};
use luister_tests::app::{import_lines, TestApp};
use luister_tests::TestDb;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const AMSTERDAM: &str = "enschede.nl";
const KOLKATA: &str = "pune.example";
const WEEKLY: &str = "weekly.example";

const UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];
/// First octets of networks in the Netherlands, Belgium, Germany and the UK.
const NETWORKS: &[&str] = &["145.97", "81.82", "80.128", "81.2"];
const REFERRERS: &[&str] = &[
    "",
    "",
    "https://www.google.nl/",
    "https://www.bing.com/",
    "https://www.nu.nl/artikel",
];
const PAGES: &[&str] = &[
    "/",
    "/schulden",
    "/schulden/hulp",
    "/afval",
    "/parkeren/vergunning",
    "/contact",
];
const TERMS: &[&str] = &["huur", "paspoort", "afvalkalender", "schuldhulp"];

/// One visit's events as import lines: sometimes a custom event before the first
/// pageview (the entry page becomes known later), search pageviews and search events with
/// and without results, a campaign landing.
fn visit_lines(
    rng: &mut StdRng,
    domain: &str,
    ip: &str,
    ua: &str,
    start: i64,
) -> Vec<(i64, Value)> {
    let mut t = start;
    let referrer = REFERRERS[rng.random_range(0..REFERRERS.len())];
    let campaign = rng.random_bool(0.15);
    let mut lines = Vec::new();
    let line = |t: i64, name: &str, path: String, props: Value| {
        let mut v = json!({
            "timestamp": t, "domain": domain, "name": name,
            "url": format!("https://{domain}{path}"), "referrer": referrer,
            "ip": ip, "user_agent": ua, "interactive": true,
        });
        if !props.is_null() {
            v["props"] = props;
        }
        (t, v)
    };
    if rng.random_bool(0.1) {
        lines.push(line(t, "Download", "/folder".into(), Value::Null));
        t += rng.random_range(1..120);
    }
    for i in 0..rng.random_range(1..6) {
        let mut path = PAGES[rng.random_range(0..PAGES.len())].to_string();
        if i == 0 && campaign {
            path.push_str("?utm_source=nieuwsbrief&utm_medium=email&utm_campaign=december");
        }
        let roll = rng.random_range(0..10);
        if roll == 0 {
            let term = TERMS[rng.random_range(0..TERMS.len())];
            let props = json!({"results": rng.random_range(0..3).to_string()});
            lines.push(line(t, "pageview", format!("/zoeken?q={term}"), props));
        } else if roll == 1 {
            let term = TERMS[rng.random_range(0..TERMS.len())];
            let props = json!({"query": term, "results": rng.random_range(0..2).to_string()});
            lines.push(line(t, "search", "/zoeken".into(), props));
        } else if roll == 2 {
            lines.push(line(t, "Aanvraag verstuurd", path, Value::Null));
        } else {
            lines.push(line(t, "pageview", path, Value::Null));
        }
        t += rng.random_range(5..900);
    }
    lines
}

/// Visitors of one site over 20 October to 12 November 2026 (UTC seconds), 1 to 3 visits each.
fn site_lines(rng: &mut StdRng, domain: &str, visitors: usize) -> Vec<(i64, Value)> {
    let first = 1_792_454_400; // 2026-10-20T00:00:00Z
    let span = 24 * 86_400;
    let mut all = Vec::new();
    for v in 0..visitors {
        let network = NETWORKS[v % NETWORKS.len()];
        let ip = format!("{network}.{}.{}", 1 + v / 200, 1 + v % 200);
        let ua = UAS[rng.random_range(0..UAS.len())];
        let mut start = first + rng.random_range(0..span);
        for _ in 0..rng.random_range(1..4) {
            let lines = visit_lines(rng, domain, &ip, ua, start);
            let end = lines.last().map_or(start, |(t, _)| *t);
            all.extend(lines);
            start = end + rng.random_range(1_900..40_000);
        }
    }
    all
}

fn site(domain: &str) -> Site {
    let mut site = Site::new(domain);
    if domain == KOLKATA {
        site.timezone = "Asia/Kolkata".into();
    }
    if domain == WEEKLY {
        site.salt_rotation = SaltRotation::Weekly;
    }
    site
}

async fn import(db: &TestDb, mut lines: Vec<(i64, Value)>) {
    // In time order, as an export is.
    lines.sort_by_key(|(t, _)| *t);
    let ndjson: Vec<String> = lines.iter().map(|(_, v)| v.to_string()).collect();
    import_lines(db, &ndjson).await;
}

/// When the rollups are built: periods up to 6 November are closed.
fn build_now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-08T12:00:00Z".parse().unwrap()
}

async fn load() -> (TestDb, QueryEngine, QueryEngine) {
    let db = TestDb::new().await;
    for domain in [AMSTERDAM, KOLKATA, WEEKLY] {
        db.store.add_site(&site(domain)).await.unwrap();
    }
    let mut rng = StdRng::seed_from_u64(20261025);
    let mut lines = site_lines(&mut rng, AMSTERDAM, 500);
    lines.extend(site_lines(&mut rng, KOLKATA, 120));
    lines.extend(site_lines(&mut rng, WEEKLY, 60));
    import(&db, lines).await;
    let engine = QueryEngine::new(db.store.clone());
    for domain in [AMSTERDAM, KOLKATA, WEEKLY] {
        let report = engine
            .build_rollups(&site(domain), build_now())
            .await
            .unwrap();
        // From 3 days before the first visit (about 20 October) to 6 November.
        let expected = if domain == WEEKLY { 0..=0 } else { 19..=22 };
        assert!(expected.contains(&report.built), "{domain}: {report:?}");
        assert_eq!(report.waiting, 0);
    }
    let raw = engine.clone().without_rollups();
    (db, engine, raw)
}

fn params_of(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

/// Every unfiltered report this test compares, as (name, JSON answer), from `engine`.
async fn reports(engine: &QueryEngine, domain: &str) -> Vec<(String, Value)> {
    let site = site(domain);
    let metrics = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events";
    let ranges: &[&[(&str, &str)]] = &[
        &[("period", "day"), ("date", "2026-10-25")],
        &[("period", "7d"), ("date", "2026-10-28")],
        &[("period", "30d"), ("date", "2026-11-12")],
        &[("period", "month"), ("date", "2026-10-31")],
        &[("period", "custom"), ("date", "2026-10-24,2026-10-26")],
        &[("period", "custom"), ("date", "2026-10-20,2026-11-12")],
        &[("period", "day"), ("date", "2026-11-07")],
    ];
    let mut out = Vec::new();
    for range in ranges {
        let with = |extra: &[(&'static str, &'static str)]| {
            params_of(&range.iter().chain(extra).copied().collect::<Vec<_>>())
        };
        let name = |what: &str| format!("{domain} {range:?} {what}");
        let q = params::aggregate(
            site.clone(),
            &with(&[("metrics", metrics), ("compare", "previous_period")]),
            now(),
        )
        .unwrap();
        out.push((
            name("aggregate"),
            json!(engine.aggregate(&q).await.unwrap()),
        ));
        for interval in ["hour", "date", "week", "month"] {
            let q = params::timeseries(
                site.clone(),
                &with(&[("metrics", metrics), ("interval", interval)]),
                now(),
            );
            let Ok(q) = q else { continue }; // hours only for short ranges
            out.push((name(interval), json!(engine.timeseries(&q).await.unwrap())));
        }
        let properties = [
            "event:page",
            "visit:entry_page",
            "visit:exit_page",
            "visit:source",
            "visit:referrer",
            "visit:channel",
            "visit:utm_source",
            "visit:utm_medium",
            "visit:utm_campaign",
            "visit:device",
            "visit:browser",
            "visit:browser_version",
            "visit:os",
            "visit:os_version",
            "visit:country",
            "visit:region",
            "visit:city",
        ];
        for property in properties {
            for (metrics, limit, page) in [
                ("visitors,visits,bounce_rate,visit_duration", "100", "1"),
                ("visits,visitors", "2", "2"),
                ("pageviews,visitors,events", "3", "1"),
            ] {
                let pairs = [
                    ("property", property),
                    ("metrics", metrics),
                    ("limit", limit),
                    ("page", page),
                ];
                let q = params::breakdown(site.clone(), &with(&pairs), now()).unwrap();
                out.push((
                    name(&format!("{pairs:?}")),
                    json!(engine.breakdown(&q).await.unwrap()),
                ));
            }
        }
        for (steps, window) in [
            (
                json!([{"page": "/"}, {"page": "/schulden/**"}, {"search": "*"}, {"event": "Aanvraag verstuurd"}]),
                3600,
            ),
            (json!([{"page": "/schulden*"}, {"search": "huur"}]), 600),
        ] {
            let def: FunnelDefinition = serde_json::from_value(json!({
                "steps": steps, "window_seconds": window,
            }))
            .unwrap();
            let q = params::funnel(site.clone(), &def, &with(&[]), now()).unwrap();
            out.push((
                name(&format!("funnel {steps}")),
                json!(engine.funnel(&q).await.unwrap()),
            ));
        }
        for report in [
            SearchReport::Terms,
            SearchReport::ZeroResults,
            SearchReport::New,
        ] {
            let q = params::search_terms(
                site.clone(),
                &with(&[("compare", "previous_period")]),
                now(),
                report,
            )
            .unwrap();
            out.push((
                name(&format!("{report:?}")),
                json!(engine.search_terms(&q).await.unwrap()),
            ));
        }
    }
    out
}

fn differences(a: &[(String, Value)], b: &[(String, Value)]) -> Vec<String> {
    a.iter()
        .zip(b)
        .filter(|((_, x), (_, y))| x != y)
        .map(|((name, x), (_, y))| format!("{name}:\n  rollup {x}\n  raw    {y}"))
        .collect()
}

async fn visitors_in_october(engine: &QueryEngine) -> u64 {
    let month = params_of(&[
        ("period", "month"),
        ("date", "2026-10-31"),
        ("metrics", "visitors,visits"),
    ]);
    let q = params::aggregate(site(AMSTERDAM), &month, now()).unwrap();
    json!(engine.aggregate(&q).await.unwrap())["results"]["visitors"]["value"]
        .as_u64()
        .unwrap()
}

async fn terms(engine: &QueryEngine) -> Value {
    let month = params_of(&[("period", "month"), ("date", "2026-10-31")]);
    let q = params::search_terms(site(AMSTERDAM), &month, now(), SearchReport::Terms).unwrap();
    json!(engine.search_terms(&q).await.unwrap())["results"].clone()
}

#[tokio::test]
async fn rollups_answer_as_the_raw_tables_do() {
    let (db, engine, raw) = load().await;
    let cancels = db
        .json_rows("SELECT count() AS n FROM sessions WHERE sign = -1")
        .await;
    let n = &cancels[0]["n"];
    assert!(
        n != &json!(0) && n != &json!("0"),
        "unmerged visit states expected: {n}"
    );
    for domain in [AMSTERDAM, KOLKATA, WEEKLY] {
        let fast = reports(&engine, domain).await;
        let slow = reports(&raw, domain).await;
        assert_eq!(fast.len(), slow.len());
        let diff = differences(&fast, &slow);
        assert!(
            diff.is_empty(),
            "{domain}: {} of {} differ:\n{}",
            diff.len(),
            fast.len(),
            diff.join("\n")
        );
    }
    // Funnel answers of whole days were stored, and used on the second asking.
    let stored = db.json_rows("SELECT count() AS n FROM funnel_days").await;
    assert!(
        stored[0]["n"] != json!("0") && stored[0]["n"] != json!(0),
        "{stored:?}"
    );
    // Not trivially equal: the month has hundreds of visitors and searches.
    let exact = visitors_in_october(&raw).await;
    assert!(exact > 200, "{exact}");
    assert!(!terms(&raw).await.as_array().unwrap().is_empty());

    // The rollups are read: emptied (their builds still recorded), October is nearly empty.
    let weekly_before = reports(&engine, WEEKLY).await;
    db.store
        .client()
        .query("TRUNCATE TABLE period_rollup")
        .execute()
        .await
        .unwrap();
    assert!(visitors_in_october(&engine).await < exact / 5);
    assert_eq!(terms(&engine).await, json!([]));
    // Weekly salts never use them.
    assert!(differences(&reports(&engine, WEEKLY).await, &weekly_before).is_empty());
    // Invalidated, the raw tables answer; built again, the rollups do.
    engine
        .invalidate_rollups(
            AMSTERDAM,
            "2026-10-01".parse().unwrap(),
            "2026-11-30".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(visitors_in_october(&engine).await, exact);
    let rebuilt = engine
        .build_rollups(&site(AMSTERDAM), build_now())
        .await
        .unwrap();
    assert_eq!(rebuilt.built, 21, "{rebuilt:?}");
    assert_eq!(visitors_in_october(&engine).await, exact);
    assert!(differences(
        &reports(&engine, AMSTERDAM).await,
        &reports(&raw, AMSTERDAM).await
    )
    .is_empty());
}

#[tokio::test]
async fn saved_funnels_are_answered_ahead() {
    let (db, engine, raw) = load().await;
    let definition = json!({"steps": [{"page": "/"}, {"search": "*"}], "window_seconds": 1800});
    db.store
        .add_funnel(&luister_store::SavedFunnel {
            site_id: AMSTERDAM.into(),
            id: String::new(),
            name: "Zoeken vanaf home".into(),
            definition: definition.to_string(),
        })
        .await
        .unwrap();
    let count = || db.json_rows("SELECT count() AS n FROM funnel_days");
    assert_eq!(count().await[0]["n"], json!("0"));
    // As `luister serve` does after building rollups: the last 30 days of 10 November.
    let today: chrono::DateTime<chrono::Utc> = "2026-11-10T12:00:00Z".parse().unwrap();
    let ran = engine
        .warm_saved_funnels(&site(AMSTERDAM), today)
        .await
        .unwrap();
    assert_eq!(ran, 1);
    let stored = count().await[0]["n"].clone();
    assert!(stored != json!("0"), "{stored}");
    let def: FunnelDefinition = serde_json::from_value(definition).unwrap();
    let q = params::funnel(
        site(AMSTERDAM),
        &def,
        &params_of(&[("period", "30d")]),
        today,
    )
    .unwrap();
    assert_eq!(
        json!(engine.funnel(&q).await.unwrap()),
        json!(raw.funnel(&q).await.unwrap())
    );
    assert_eq!(
        count().await[0]["n"],
        stored,
        "answered from the stored days"
    );
}

#[tokio::test]
async fn importing_into_a_built_period_invalidates_it() {
    let (db, engine, raw) = load().await;
    // Two more visitors on 22 October, long after the period was built.
    let mut rng = StdRng::seed_from_u64(7);
    let mut lines = Vec::new();
    for ip in ["145.97.200.1", "81.82.200.2"] {
        lines.extend(visit_lines(&mut rng, AMSTERDAM, ip, UAS[0], 1_792_660_000));
    }
    import(&db, lines).await;
    let q = params::breakdown(
        site(AMSTERDAM),
        &params_of(&[
            ("period", "month"),
            ("date", "2026-10-31"),
            ("property", "visit:source"),
            ("metrics", "visitors,visits,bounce_rate"),
        ]),
        now(),
    )
    .unwrap();
    let fast = json!(engine.breakdown(&q).await.unwrap());
    assert_eq!(fast, json!(raw.breakdown(&q).await.unwrap()));
    let again = engine
        .build_rollups(&site(AMSTERDAM), build_now())
        .await
        .unwrap();
    assert!(again.built >= 2, "{again:?}");
    assert_eq!(json!(engine.breakdown(&q).await.unwrap()), fast);
}

#[tokio::test]
async fn late_events_from_the_spool_invalidate_their_days() {
    // The collector's clock says 5 November: its events reach ClickHouse long after that
    // (as after a long outage), when 5 November is already rolled up.
    let app = TestApp::start("2026-11-05T10:00:00Z".parse().unwrap(), &[site(AMSTERDAM)]).await;
    let mut rng = StdRng::seed_from_u64(11);
    let mut lines = Vec::new();
    for v in 0..40u32 {
        let ip = format!("145.97.9.{v}");
        let start = 1_793_664_000 + i64::from(v) * 1_200; // 3 November
        lines.extend(visit_lines(
            &mut rng,
            AMSTERDAM,
            &ip,
            UAS[v as usize % 4],
            start,
        ));
    }
    import(&app.db, lines).await;
    let engine = QueryEngine::new(app.store().clone());
    let raw = engine.clone().without_rollups();
    let built = engine
        .build_rollups(&site(AMSTERDAM), build_now())
        .await
        .unwrap();
    assert!(built.built >= 4, "{built:?}");
    let day = |date: &'static str| {
        params::aggregate(
            site(AMSTERDAM),
            &params_of(&[
                ("period", "day"),
                ("date", date),
                ("metrics", "visitors,pageviews"),
            ]),
            now(),
        )
        .unwrap()
    };
    let visitors = |v: Value| v["results"]["visitors"]["value"].as_u64().unwrap();
    assert_eq!(
        visitors(json!(engine.aggregate(&day("2026-11-05")).await.unwrap())),
        0
    );
    let body = r#"{"n":"pageview","u":"https://enschede.nl/afval","d":"enschede.nl"}"#;
    assert_eq!(app.send(body, "145.97.10.1", UAS[0]).await.status(), 202);
    app.flushed().await;
    engine.forget_coverage();
    let fast = json!(engine.aggregate(&day("2026-11-05")).await.unwrap());
    assert_eq!(visitors(fast.clone()), 1, "{fast}");
    assert_eq!(
        fast,
        json!(raw.aggregate(&day("2026-11-05")).await.unwrap())
    );
    // The other days stay rolled up, and right.
    let before = json!(engine.aggregate(&day("2026-11-03")).await.unwrap());
    assert_eq!(
        before,
        json!(raw.aggregate(&day("2026-11-03")).await.unwrap())
    );
    assert!(visitors(before) >= 30);
}

#[tokio::test]
async fn a_period_with_an_open_visit_waits_and_a_long_visit_splits_no_day() {
    let db = TestDb::new().await;
    db.store.add_site(&site(AMSTERDAM)).await.unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut lines = Vec::new();
    for v in 0..30u32 {
        let ip = format!("145.97.8.{v}");
        let start = 1_793_491_200 + i64::from(v) * 5_000; // 1 and 2 November
        lines.extend(visit_lines(
            &mut rng,
            AMSTERDAM,
            &ip,
            UAS[v as usize % 4],
            start,
        ));
    }
    // Events of one visitor from 1 November 23:00 UTC to 3 November 00:20, one every 20
    // minutes: a visit until 2 November 23:40 under the salt of 1 November, whose events
    // fall on three local days (Amsterdam) with the period's other visits; past midnight
    // the visitor id of 1 November is no longer used, and a new visit starts.
    let long: Vec<(i64, Value)> = (0..77)
        .map(|i| {
            let t = 1_793_574_000 + i * 1_200;
            let v = json!({
                "timestamp": t, "domain": AMSTERDAM, "name": "pageview",
                "url": format!("https://{AMSTERDAM}/schulden"), "ip": "81.82.7.7",
                "user_agent": UAS[1], "interactive": true,
            });
            (t, v)
        })
        .collect();
    lines.extend(long);
    import(&db, lines).await;
    let engine = QueryEngine::new(db.store.clone());
    let raw = engine.clone().without_rollups();
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let compare = |engine: QueryEngine, raw: QueryEngine| async move {
        for range in [
            ("day", "2026-11-01"),
            ("day", "2026-11-02"),
            ("day", "2026-11-03"),
            ("custom", "2026-11-01,2026-11-02"),
            ("7d", "2026-11-04"),
        ] {
            for property in ["event:page", "visit:source"] {
                let q = params::breakdown(
                    site(AMSTERDAM),
                    &params_of(&[
                        ("period", range.0),
                        ("date", range.1),
                        ("property", property),
                        ("metrics", "visitors,visits,pageviews"),
                    ]),
                    now(),
                )
                .unwrap();
                assert_eq!(
                    json!(engine.breakdown(&q).await.unwrap()),
                    json!(raw.breakdown(&q).await.unwrap()),
                    "{range:?} {property}"
                );
            }
        }
    };
    // 3 November 00:05: 1 November is two days old, but its long visit is still open.
    let first = engine
        .build_rollups(&site(AMSTERDAM), at("2026-11-03T00:05:00Z"))
        .await
        .unwrap();
    assert_eq!(first.waiting, 1, "{first:?}");
    compare(engine.clone(), raw.clone()).await;
    // At 2:00 it has ended: built, with its three local days.
    let second = engine
        .build_rollups(&site(AMSTERDAM), at("2026-11-03T02:00:00Z"))
        .await
        .unwrap();
    assert_eq!((second.built, second.waiting), (1, 0), "{second:?}");
    let days = db
        .json_rows(
            "SELECT toString(argMax(first_day, version)) AS f, toString(argMax(last_day, version)) AS l \
             FROM rollup_builds WHERE period = '2026-11-01' GROUP BY period",
        )
        .await;
    assert_eq!(days, vec![json!({"f": "2026-11-01", "l": "2026-11-03"})]);
    compare(engine, raw).await;
}

#[tokio::test]
async fn a_new_time_zone_is_not_served_old_days() {
    let (db, engine, raw) = load().await;
    let mut london = site(AMSTERDAM);
    london.timezone = "Europe/London".into();
    db.store.update_site(&london).await.unwrap();
    let ask = |engine: QueryEngine, site: Site| async move {
        let mut out = Vec::new();
        for interval in ["date", "month"] {
            let q = params::timeseries(
                site.clone(),
                &params_of(&[
                    ("period", "custom"),
                    ("date", "2026-10-20,2026-11-12"),
                    ("metrics", "visitors,visits,pageviews"),
                    ("interval", interval),
                ]),
                now(),
            )
            .unwrap();
            out.push(json!(engine.timeseries(&q).await.unwrap()));
        }
        out
    };
    // Built for Amsterdam's days: not used for London's.
    assert_eq!(
        ask(engine.clone(), london.clone()).await,
        ask(raw.clone(), london.clone()).await
    );
    let rebuilt = engine.build_rollups(&london, build_now()).await.unwrap();
    assert!(rebuilt.built >= 19, "{rebuilt:?}");
    assert_eq!(
        ask(engine.clone(), london.clone()).await,
        ask(raw, london).await
    );
}
