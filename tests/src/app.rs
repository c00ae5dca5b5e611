//! A running `luister` server on `127.0.0.1:0` with its own database, spool and clock.

use crate::TestDb;
use chrono::{DateTime, Utc};
use luister_ingest::pipeline::{Enrichers, PipelineConfig};
use luister_model::{Clock, FixedClock, Site};
use luister_server::{ServerHandle, ServerSettings};
use luister_spool::{FlusherConfig, FsyncPolicy, SpoolConfig};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The data files fetched by `scripts/fetch-data.sh` (`LUISTER_DATA_FILES` or `<repo>/vendor-data`).
pub fn data_dir() -> PathBuf {
    std::env::var_os("LUISTER_DATA_FILES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vendor-data"))
}

/// Enrichment data, loaded once per test process.
pub fn enrichers() -> Arc<Enrichers> {
    static ENRICHERS: OnceLock<Arc<Enrichers>> = OnceLock::new();
    ENRICHERS
        .get_or_init(|| {
            let config = PipelineConfig {
                data_files: luister_ingest::enrich::DataFiles::in_dir(&data_dir()),
                allow_headless: false,
            };
            Arc::new(
                Enrichers::load(&config).expect("data files missing: run scripts/fetch-data.sh"),
            )
        })
        .clone()
}

/// A server under test.
pub struct TestApp {
    pub db: TestDb,
    pub server: Option<ServerHandle>,
    pub base: String,
    pub clock: Arc<FixedClock>,
    pub spool_dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// Changes to the default [`TestApp::settings`], applied at every (re)start.
    pub tweak: fn(&mut ServerSettings),
}

impl TestApp {
    /// A server whose clock stands at `now`, with `sites` registered.
    pub async fn start(now: DateTime<Utc>, sites: &[Site]) -> Self {
        Self::start_on(TestDb::new().await, now, sites).await
    }

    /// Like [`TestApp::start`], on a given database.
    pub async fn start_on(db: TestDb, now: DateTime<Utc>, sites: &[Site]) -> Self {
        Self::start_tweaked(db, now, sites, |_| {}).await
    }

    /// Like [`TestApp::start_on`], with `tweak` applied to the server settings.
    pub async fn start_tweaked(
        db: TestDb,
        now: DateTime<Utc>,
        sites: &[Site],
        tweak: fn(&mut ServerSettings),
    ) -> Self {
        for site in sites {
            db.store.add_site(site).await.expect("add site");
        }
        let spool_dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(FixedClock::new(now));
        let mut app = Self {
            db,
            server: None,
            base: String::new(),
            clock,
            spool_dir,
            http: reqwest::Client::new(),
            tweak,
        };
        app.restart_server().await;
        app
    }

    pub fn settings(&self) -> ServerSettings {
        let mut settings = self.default_settings();
        (self.tweak)(&mut settings);
        settings
    }

    fn default_settings(&self) -> ServerSettings {
        ServerSettings {
            listen: "127.0.0.1:0".parse().expect("addr"),
            trusted_proxies: "127.0.0.1".parse().expect("proxies"),
            forwarded_header: Default::default(),
            anonymize_ip: false,
            query_limits: Default::default(),
            visit_limits: Default::default(),
            // Tests send many events from one address; the rate-limit test sets its own.
            rate_limits: luister_server::rate_limit::RateLimits {
                collector_per_client: luister_server::rate_limit::Rate::OFF,
                collector_per_site: luister_server::rate_limit::Rate::OFF,
                auth_failures_per_client: luister_server::rate_limit::Rate::OFF,
            },
            max_event_body: 64 * 1024,
            admin_token: Some("test-admin-token".into()),
            spool: SpoolConfig {
                dir: self.spool_dir.path().to_path_buf(),
                max_batch_events: 1_000,
                max_batch_age: Duration::from_millis(50),
                max_bytes: 64 << 20,
                fsync: FsyncPolicy::OnSeal,
            },
            flusher: FlusherConfig {
                tick: Duration::from_millis(20),
                max_backoff: Duration::from_millis(200),
                shutdown_grace: Duration::from_secs(5),
            },
            site_refresh: Duration::from_millis(200),
            workers: 2,
            dashboard: luister_dashboard::DashboardSettings::default(),
            delivery: Default::default(),
            delivery_check: Duration::from_millis(200),
        }
    }

    /// (Re)starts the HTTP server on the same database, spool and clock.
    pub async fn restart_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        self.start_server().await;
    }

    /// Drops the running server without draining: whatever is in the spool stays on disk.
    pub fn crash_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Starts the HTTP server (after [`TestApp::crash_server`]).
    pub async fn start_server(&mut self) {
        let clock: Arc<dyn Clock> = self.clock.clone();
        let server =
            luister_server::start(self.settings(), self.db.store.clone(), enrichers(), clock)
                .await
                .expect("start server");
        self.base = format!("http://{}", server.addr);
        self.server = Some(server);
    }

    /// Posts a body to `/api/event` as the tracker does, from client `ip` with `user_agent`.
    pub async fn send(&self, body: &str, ip: &str, user_agent: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/api/event", self.base))
            .header("content-type", "text/plain")
            .header("x-forwarded-for", ip)
            .header("user-agent", user_agent)
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let response = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics request");
        response.text().await.expect("metrics body")
    }

    /// Waits until the spool is empty (everything accepted is in ClickHouse).
    pub async fn flushed(&self) {
        let spool = &self.server.as_ref().expect("server").state.spool;
        let started = Instant::now();
        while spool.stats().records() > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "spool did not drain"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn store(&self) -> &luister_store::Store {
        &self.db.store
    }

    /// Calls the API at `path` (from the server root) as `token`; the status and the body
    /// as JSON (or as a JSON string when it is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        (status, json)
    }
}

/// Imports NDJSON lines (one JSON object each) into `db` through the pipeline, as
/// `luister import` does, and checks that every line was stored.
pub async fn import_lines(db: &TestDb, lines: &[String]) {
    let report = luister::import::import_ndjson(
        &db.store,
        enrichers(),
        lines.join("\n").as_bytes(),
        luister::import::ImportOptions::default(),
    )
    .await
    .expect("import");
    assert_eq!(report.imported, lines.len() as u64, "{report:?}");
}
