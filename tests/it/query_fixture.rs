//! Known events for the query tests: visits built step by step, stored as `EventRecord`s,
//! with the `sessions` table rebuilt from them (as `Store::rebuild_sessions` does after a
//! data fix; the pipeline's own session rows are tested in `query_sessions`).
//!
//! Visitor and session ids are given explicitly, so every expected number in the tests
//! can be worked out by hand from the fixture.

use chrono::{DateTime, Utc};
use luister_model::{EventRecord, Site};
use luister_query::{params, Params, QueryEngine};
use luister_tests::TestDb;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SITE: &str = "enschede.nl";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().into()
}

/// One visit: a session of one visitor, with the visit properties its events share.
pub struct Visit {
    base: EventRecord,
    start: u32,
    page: String,
    records: Vec<EventRecord>,
}

/// A visit of `visitor` (session `session`) starting at `start` (RFC 3339).
pub fn visit(visitor: u64, session: u64, start: &str) -> Visit {
    Visit {
        base: EventRecord {
            site_id: SITE.into(),
            visitor_id: visitor,
            session_id: session,
            hostname: SITE.into(),
            referrer_source: "Direct / None".into(),
            channel: "Direct".into(),
            country_code: "NL".into(),
            device: "Desktop".into(),
            browser: "Firefox".into(),
            browser_version: "133.0".into(),
            os: "Windows".into(),
            os_version: "10".into(),
            search_results: -1,
            interactive: 1,
            scroll_depth: 255,
            ..Default::default()
        },
        start: at(start).timestamp() as u32,
        page: "/".into(),
        records: Vec::new(),
    }
}

fn next_id() -> u64 {
    static ID: AtomicU64 = AtomicU64::new(1);
    ID.fetch_add(1, Ordering::Relaxed)
}

impl Visit {
    /// The visit's events as stored.
    pub fn into_records(self) -> Vec<EventRecord> {
        self.records
    }

    pub fn site(mut self, site: &str) -> Self {
        self.base.site_id = site.into();
        self
    }

    /// Sets visit properties on every later event of the visit.
    pub fn with(mut self, set: impl FnOnce(&mut EventRecord)) -> Self {
        set(&mut self.base);
        self
    }

    pub fn source(self, source: &str) -> Self {
        self.with(|e| e.referrer_source = source.into())
    }

    pub fn country(self, country: &str) -> Self {
        self.with(|e| e.country_code = country.into())
    }

    pub fn device(self, device: &str, browser: &str, os: &str) -> Self {
        self.with(|e| {
            e.device = device.into();
            e.browser = browser.into();
            e.os = os.into();
        })
    }

    fn push(mut self, offset: u32, name: &str, edit: impl FnOnce(&mut EventRecord)) -> Self {
        let mut e = self.base.clone();
        e.event_id = next_id();
        e.timestamp = self.start + offset;
        e.name = name.into();
        e.pathname = self.page.clone();
        edit(&mut e);
        self.records.push(e);
        self
    }

    /// A pageview of `path`, `offset` seconds after the visit's start.
    pub fn page(mut self, offset: u32, path: &str) -> Self {
        self.page = path.into();
        self.push(offset, "pageview", |_| {})
    }

    /// A custom event on the current page.
    pub fn event(self, offset: u32, name: &str) -> Self {
        self.push(offset, name, |_| {})
    }

    pub fn event_with_prop(self, offset: u32, name: &str, key: &str, value: &str) -> Self {
        self.push(offset, name, |e| {
            e.props_key = vec![key.into()];
            e.props_value = vec![value.into()];
        })
    }

    /// A custom event that does not end a bounce.
    pub fn passive_event(self, offset: u32, name: &str) -> Self {
        self.push(offset, name, |e| e.interactive = 0)
    }

    /// An engagement event on the current page (never a pageview or an event).
    pub fn engagement(self, offset: u32) -> Self {
        self.push(offset, "engagement", |e| {
            e.scroll_depth = 80;
            e.engaged_ms = 20_000;
        })
    }

    /// A search results page `/zoeken?q=term` (a pageview that is also a search).
    pub fn search(mut self, offset: u32, term: &str, results: i32) -> Self {
        self.page = "/zoeken".into();
        self.push(offset, "pageview", |e| {
            e.search_term = term.into();
            e.search_results = results;
        })
    }

    /// A JavaScript search (`search` event) on the current page.
    pub fn search_event(self, offset: u32, term: &str, results: i32) -> Self {
        self.push(offset, "search", |e| {
            e.search_term = term.into();
            e.search_results = results;
        })
    }
}

/// A migrated database with the site and the visits stored, and an engine on it.
pub struct Loaded {
    pub db: TestDb,
    pub engine: QueryEngine,
}

pub async fn load(sites: &[&str], visits: Vec<Visit>) -> Loaded {
    let db = TestDb::new().await;
    for site in sites {
        db.store.add_site(&Site::new(*site)).await.unwrap();
    }
    let records: Vec<EventRecord> = visits.into_iter().flat_map(Visit::into_records).collect();
    db.store.insert_events(&records, false).await.unwrap();
    db.store.rebuild_sessions().await.unwrap();
    let engine = QueryEngine::new(db.store.clone());
    Loaded { db, engine }
}

pub fn p(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn site() -> Site {
    Site::new(SITE)
}

/// `now` for queries: well after every fixture.
pub fn now() -> DateTime<Utc> {
    at("2026-11-20T12:00:00Z")
}

/// Aggregate of `pairs` as JSON `results`.
pub async fn aggregate(l: &Loaded, pairs: &[(&str, &str)]) -> serde_json::Value {
    let q = params::aggregate(site(), &p(pairs), now()).unwrap();
    serde_json::to_value(l.engine.aggregate(&q).await.unwrap()).unwrap()["results"].clone()
}

/// Breakdown of `pairs` as JSON `results`.
pub async fn breakdown(l: &Loaded, pairs: &[(&str, &str)]) -> serde_json::Value {
    let q = params::breakdown(site(), &p(pairs), now()).unwrap();
    serde_json::to_value(l.engine.breakdown(&q).await.unwrap()).unwrap()["results"].clone()
}

pub async fn timeseries(l: &Loaded, pairs: &[(&str, &str)]) -> serde_json::Value {
    let q = params::timeseries(site(), &p(pairs), now()).unwrap();
    serde_json::to_value(l.engine.timeseries(&q).await.unwrap()).unwrap()["results"].clone()
}

/// `{"visitors": {"value": 3}, …}` → `{"visitors": 3, …}`, for comparing aggregate results.
pub fn values(results: &serde_json::Value) -> serde_json::Value {
    let map = results.as_object().expect("an object of metrics");
    serde_json::Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), v["value"].clone()))
            .collect(),
    )
}
