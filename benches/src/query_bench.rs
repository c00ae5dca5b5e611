//! Query latency benchmark: ~10 million synthetic events of one site over 30 days,
//! then the dashboard overview (aggregate + timeseries + 5 breakdowns), a 4-step funnel
//! and the search-terms report, each timed over several runs.
//!
//! The events are generated as stored rows and written with the store's batch insert
//! (the import path minus enrichment, which the `ingest` benchmark measures); their visits
//! are then derived into `sessions` with `Store::rebuild_sessions` (fully collapsed, as
//! after ClickHouse's merges), and the salt-period rollups of the closed days are built as
//! `luister serve` builds them (timed and printed). Visitor ids change every UTC day, as
//! daily salts make them. "Now" is 1 December, noon: the rollups cover up to 29 November,
//! the last day and a half of the range is read from the raw tables. What is timed here is
//! only the query layer against ClickHouse; every report is also timed without rollups,
//! and the funnel both with its per-day answers stored (as from its second asking on) and
//! when first asked (they are computed and stored then).
//!
//! `cargo run --release -p luister-benches -- query [--clickhouse-url URL] [--events N]`;
//! with `LUISTER_BENCH_DETAIL=1` it also prints each breakdown's time.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use luister_model::{EventRecord, Site};
use luister_query::{
    params, FunnelDefinition, FunnelStep, Params, QueryEngine, SearchReport, StatsQuery,
};
use luister_store::{ClickHouseSettings, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// ClickHouse HTTP URL; without it a private server is started in a temporary folder.
    #[arg(long)]
    pub clickhouse_url: Option<String>,
    /// Events to generate.
    #[arg(long, default_value_t = 10_000_000)]
    pub events: usize,
    /// Days the events span (ending 2026-11-30).
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Timed runs per report (after one warm-up run).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Reuse the benchmark database when it already holds the events.
    #[arg(long)]
    pub keep: bool,
}

const DOMAIN: &str = "bench.gemeente.nl";
const DATABASE: &str = "luister_query_bench";
const BATCH: usize = 250_000;

/// Runs the benchmark and prints one line per report (median and slowest of `runs`).
pub async fn run(args: QueryArgs) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut embedded = None;
    let settings = match &args.clickhouse_url {
        Some(url) => ClickHouseSettings {
            url: url.clone(),
            user: "default".into(),
            password: String::new(),
            database: DATABASE.into(),
            ca_file: None,
        },
        None => {
            let server = luister_store::embedded::EmbeddedClickHouse::start(dir.path()).await?;
            let settings = server.settings(DATABASE);
            embedded = Some(server);
            settings
        }
    };
    let store = Store::connect(settings).await?;
    println!("clickhouse {}", store.server_version());
    store.migrate().await?;
    load(&store, &args).await?;
    let engine = QueryEngine::new(store.clone());
    let started = Instant::now();
    let built = engine.build_rollups(&Site::new(DOMAIN), now()).await?;
    println!(
        "built the rollups of {} salt periods in {:.1} s",
        built.built,
        started.elapsed().as_secs_f64()
    );
    let raw = engine.clone().without_rollups();
    let date = last_day().format("%Y-%m-%d").to_string();
    let mut report = Vec::new();
    report.push((
        "overview (7 queries, sequential)",
        time(args.runs, || overview(&engine, &date)).await?,
    ));
    report.push((
        "overview (7 queries, concurrent)",
        time(args.runs, || overview_concurrent(&engine, &date)).await?,
    ));
    report.push((
        "overview without rollups (sequential)",
        time(args.runs, || overview(&raw, &date)).await?,
    ));
    let dashboard = luister_dashboard::Dashboard::new(
        store.clone(),
        engine.clone(),
        std::sync::Arc::new(luister_model::FixedClock::new(now())),
        Default::default(),
    );
    let page_query: Params = [
        ("period".to_string(), "30d".to_string()),
        ("date".to_string(), date.clone()),
    ]
    .into();
    let page_size = dashboard
        .render_overview(&Site::new(DOMAIN), &page_query)
        .await
        .map_err(|e| luister_query::QueryError::param("dashboard", e))?
        .len();
    println!("dashboard overview page: {page_size} bytes of HTML");
    report.push((
        "dashboard overview page (15 queries + render)",
        time(args.runs, || async {
            engine.forget_coverage();
            dashboard
                .render_overview(&Site::new(DOMAIN), &page_query)
                .await
                .map(|_| ())
                .map_err(|e| luister_query::QueryError::param("dashboard", e))
        })
        .await?,
    ));
    report.push((
        "dashboard overview page, warm engine",
        time(args.runs, || async {
            dashboard
                .render_overview(&Site::new(DOMAIN), &page_query)
                .await
                .map(|_| ())
                .map_err(|e| luister_query::QueryError::param("dashboard", e))
        })
        .await?,
    ));
    report.push((
        "funnel (4 steps), stored days",
        time(args.runs, || funnel(&engine, &date)).await?,
    ));
    report.push((
        "funnel (4 steps), first asked",
        time(args.runs, || async {
            store
                .client()
                .query("TRUNCATE TABLE funnel_days")
                .execute()
                .await
                .map_err(|e| luister_query::QueryError::param("bench", e.to_string()))?;
            funnel(&engine, &date).await
        })
        .await?,
    ));
    report.push((
        "funnel (4 steps) without rollups",
        time(args.runs, || funnel(&raw, &date)).await?,
    ));
    report.push((
        "search terms",
        time(args.runs, || search_terms(&engine, &date)).await?,
    ));
    report.push((
        "search terms without rollups",
        time(args.runs, || search_terms(&raw, &date)).await?,
    ));
    for (name, (median, max)) in report {
        println!("{name:<40} median {median:>7.1} ms   max {max:>7.1} ms");
    }
    if !args.keep {
        store.drop_database().await?;
    }
    if let Some(mut server) = embedded {
        server.stop().await;
    }
    Ok(())
}

fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default()
}

async fn time<F, Fut>(runs: usize, mut f: F) -> Result<(f64, f64), Box<dyn std::error::Error>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), luister_query::QueryError>>,
{
    f().await?;
    let mut ms = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        f().await?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], ms[ms.len() - 1]))
}

fn p(date: &str, extra: &[(&str, &str)]) -> Params {
    let mut params: Params = [("period", "30d"), ("date", date)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    params
}

fn now() -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(
        &(last_day() + Duration::days(1))
            .and_hms_opt(12, 0, 0)
            .unwrap_or_default(),
    )
}

/// The dashboard overview's queries: aggregate, timeseries, and one breakdown per property.
struct Overview {
    aggregate: StatsQuery,
    timeseries: StatsQuery,
    breakdowns: Vec<(&'static str, StatsQuery)>,
}

fn overview_queries(date: &str) -> Result<Overview, luister_query::QueryError> {
    let site = Site::new(DOMAIN);
    let metrics = (
        "metrics",
        "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration",
    );
    let properties = [
        "event:page",
        "visit:source",
        "visit:country",
        "visit:device",
        "visit:entry_page",
    ];
    let breakdowns = properties
        .into_iter()
        .map(|property| {
            let q = params::breakdown(
                site.clone(),
                &p(date, &[("property", property), ("limit", "10")]),
                now(),
            )?;
            Ok((property, q))
        })
        .collect::<Result<_, luister_query::QueryError>>()?;
    Ok(Overview {
        aggregate: params::aggregate(site.clone(), &p(date, &[metrics]), now())?,
        timeseries: params::timeseries(
            site,
            &p(date, &[("metrics", "visitors,pageviews")]),
            now(),
        )?,
        breakdowns,
    })
}

/// The seven overview queries one after another, as a fresh dashboard load: what the
/// rollups cover is looked up anew.
async fn overview(engine: &QueryEngine, date: &str) -> Result<(), luister_query::QueryError> {
    engine.forget_coverage();
    let queries = overview_queries(date)?;
    engine.aggregate(&queries.aggregate).await?;
    engine.timeseries(&queries.timeseries).await?;
    for (property, q) in &queries.breakdowns {
        let started = Instant::now();
        engine.breakdown(q).await?;
        if std::env::var_os("LUISTER_BENCH_DETAIL").is_some() {
            eprintln!(
                "  breakdown {property}: {:.0} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

/// The same seven queries at once, as a dashboard sends them.
async fn overview_concurrent(
    engine: &QueryEngine,
    date: &str,
) -> Result<(), luister_query::QueryError> {
    engine.forget_coverage();
    let queries = overview_queries(date)?;
    let mut tasks = tokio::task::JoinSet::new();
    let e = engine.clone();
    tasks.spawn(async move { e.aggregate(&queries.aggregate).await.map(|_| ()) });
    let e = engine.clone();
    tasks.spawn(async move { e.timeseries(&queries.timeseries).await.map(|_| ()) });
    for (_, q) in queries.breakdowns {
        let e = engine.clone();
        tasks.spawn(async move { e.breakdown(&q).await.map(|_| ()) });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| luister_query::QueryError::param("bench", e.to_string()))??;
    }
    Ok(())
}

async fn funnel(engine: &QueryEngine, date: &str) -> Result<(), luister_query::QueryError> {
    engine.forget_coverage();
    let def = FunnelDefinition {
        steps: vec![
            FunnelStep::Page("/".into()),
            FunnelStep::Page("/schulden/**".into()),
            FunnelStep::Search("*".into()),
            FunnelStep::Event("Aanvraag verstuurd".into()),
        ],
        window_seconds: 3600,
        filters: String::new(),
        breakdown: None,
    };
    engine
        .funnel(&params::funnel(
            Site::new(DOMAIN),
            &def,
            &p(date, &[]),
            now(),
        )?)
        .await?;
    Ok(())
}

async fn search_terms(engine: &QueryEngine, date: &str) -> Result<(), luister_query::QueryError> {
    engine.forget_coverage();
    let q = params::search_terms(Site::new(DOMAIN), &p(date, &[]), now(), SearchReport::Terms)?;
    engine.search_terms(&q).await?;
    Ok(())
}

async fn load(store: &Store, args: &QueryArgs) -> Result<(), Box<dyn std::error::Error>> {
    let present: u64 = store
        .client()
        .query("SELECT count() FROM events")
        .fetch_one()
        .await?;
    if args.keep && present as usize >= args.events {
        let visits: u64 = store
            .client()
            .query("SELECT count() FROM sessions")
            .fetch_one()
            .await?;
        if visits == 0 {
            rebuild_sessions(store).await?;
        }
        println!("reusing {present} events");
        return Ok(());
    }
    store
        .client()
        .query("TRUNCATE TABLE events")
        .execute()
        .await?;
    if store.get_site(DOMAIN).await?.is_none() {
        store.add_site(&Site::new(DOMAIN)).await?;
    }
    let started = Instant::now();
    let mut generator = Synthetic::new(args.days);
    let mut written = 0;
    while written < args.events {
        let batch = generator.batch(BATCH.min(args.events - written));
        written += store.insert_events(&batch, false).await?;
    }
    println!(
        "loaded {written} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    rebuild_sessions(store).await
}

async fn rebuild_sessions(store: &Store) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    store.rebuild_sessions().await?;
    let visits: u64 = store
        .client()
        .query("SELECT toUInt64(sum(sign)) FROM sessions")
        .fetch_one()
        .await?;
    println!(
        "derived {visits} visits in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

const SECTIONS: &[&str] = &[
    "schulden",
    "afval",
    "parkeren",
    "paspoort",
    "wonen",
    "werk",
    "zorg",
    "belasting",
];
const SOURCES: &[&str] = &[
    "Direct / None",
    "Google",
    "Google",
    "Google",
    "Bing",
    "nu.nl",
    "Facebook",
    "DuckDuckGo",
];
const COUNTRIES: &[&str] = &["NL", "NL", "NL", "NL", "NL", "NL", "BE", "DE", "GB"];
const DEVICES: &[(&str, &str, &str)] = &[
    ("Desktop", "Chrome", "Windows"),
    ("Desktop", "Firefox", "Windows"),
    ("Mobile", "Safari", "iOS"),
    ("Mobile", "Chrome", "Android"),
    ("Tablet", "Safari", "iPadOS"),
];

/// Visits of 1–8 events spread over `days` days, with searches and conversions.
struct Synthetic {
    rng: StdRng,
    start: u32,
    span: u32,
    session: u64,
    event_id: u64,
}

impl Synthetic {
    fn new(days: u32) -> Self {
        let first = last_day() - Duration::days(i64::from(days.max(1)) - 1);
        let start = first
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp() as u32;
        Self {
            rng: StdRng::seed_from_u64(7),
            start,
            span: days.max(1) * 86_400,
            session: 0,
            event_id: 0,
        }
    }

    fn batch(&mut self, n: usize) -> Vec<EventRecord> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            self.visit(&mut out);
        }
        out.truncate(n);
        out
    }

    fn page(&mut self) -> String {
        let section = SECTIONS[self.rng.random_range(0..SECTIONS.len())];
        match self.rng.random_range(0..4) {
            0 => "/".into(),
            1 => format!("/{section}"),
            _ => format!("/{section}/{}", self.rng.random_range(0..40)),
        }
    }

    fn visit(&mut self, out: &mut Vec<EventRecord>) {
        self.session += 1;
        let rng = &mut self.rng;
        let (device, browser, os) = DEVICES[rng.random_range(0..DEVICES.len())];
        let start = self.start + rng.random_range(0..self.span);
        // A returning person gets a new visitor id every UTC day, as under daily salts.
        let person = rng.random_range(0..self.session / 2 + 1);
        let day = u64::from(start / 86_400);
        let base = EventRecord {
            site_id: DOMAIN.into(),
            visitor_id: person.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ day.wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
            session_id: self.session,
            hostname: DOMAIN.into(),
            referrer_source: SOURCES[rng.random_range(0..SOURCES.len())].into(),
            country_code: COUNTRIES[rng.random_range(0..COUNTRIES.len())].into(),
            device: device.into(),
            browser: browser.into(),
            os: os.into(),
            search_results: -1,
            interactive: 1,
            scroll_depth: 255,
            ..Default::default()
        };
        let mut t = start;
        let events = 1 + (rng.random_range(0.0f64..1.0).powi(2) * 8.0) as usize;
        for i in 0..events {
            let mut e = base.clone();
            self.event_id += 1;
            e.event_id = self.event_id;
            e.timestamp = t;
            e.pathname = if i == 0 { "/".into() } else { self.page() };
            e.name = "pageview".into();
            let roll = self.rng.random_range(0..100);
            if roll < 6 {
                e.pathname = "/zoeken".into();
                e.search_term = format!(
                    "term {}",
                    (self.rng.random_range(0.0f64..1.0).powi(3) * 3000.0) as u32
                );
                e.search_results = if self.rng.random_bool(0.1) {
                    0
                } else {
                    self.rng.random_range(1..50)
                };
            } else if roll < 8 {
                e.name = "Aanvraag verstuurd".into();
            }
            out.push(e);
            t += self.rng.random_range(5..240);
        }
    }
}
