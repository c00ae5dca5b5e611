//! Starting and stopping the server: spool, pipeline, background upkeep, HTTP.

use crate::background::{
    apply_retention, build_rollups, deliver_reports, seed_sessions, upkeep, SaltKeeper, StoreSink,
};
use crate::rate_limit::Limiters;
use crate::state::{AppState, ServerSettings};
use crate::{collector, http_guard, http_metrics, matomo, ops, tracker};
use actix_cors::Cors;
use actix_web::middleware::{from_fn, Compress};
use actix_web::{web, App, HttpServer};
use luister_ingest::pipeline::Enrichers;
use luister_ingest::salts::SharedSalts;
use luister_ingest::validate::SiteRegistry;
use luister_ingest::Pipeline;
use luister_model::Clock;
use luister_spool::{Flusher, Spool};
use luister_store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running server; stop it with [`ServerHandle::stop`] to drain the spool.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub state: web::Data<AppState>,
    http: actix_web::dev::ServerHandle,
    http_task: JoinHandle<std::io::Result<()>>,
    shutdown: watch::Sender<bool>,
    flusher: JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting requests, finishes those in flight, then flushes the spool.
    pub async fn stop(self) {
        self.http.stop(true).await;
        let _ = self.http_task.await;
        let _ = self.shutdown.send(true);
        let _ = self.flusher.await;
    }

    /// Stops at once without draining, as a killed process would: the spool keeps
    /// what was accepted and the next start writes it.
    pub fn abort(self) {
        let _ = self.shutdown.send(true);
        self.flusher.abort();
        self.http_task.abort();
        drop(self.http.stop(false));
    }

    /// Waits until the HTTP server ends on its own (it never does without `stop`).
    pub async fn wait(&mut self) {
        let _ = (&mut self.http_task).await;
    }
}

/// Errors while starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("spool: {0}")]
    Spool(#[from] luister_spool::SpoolError),
    #[error("clickhouse: {0}")]
    Store(#[from] luister_store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Loads sites, salts and open sessions, then serves HTTP on `settings.listen`.
pub async fn start(
    settings: ServerSettings,
    store: Store,
    enrichers: Arc<Enrichers>,
    clock: Arc<dyn Clock>,
) -> Result<ServerHandle, StartError> {
    luister_metrics::init();
    let spool = Arc::new(Spool::open(settings.spool.clone())?);
    let sites = Arc::new(SiteRegistry::new(store.list_sites().await?));
    let shared_salts = Arc::new(SharedSalts::default());
    let salts = Arc::new(SaltKeeper {
        store: store.clone(),
        shared: shared_salts.clone(),
        clock: clock.clone(),
    });
    salts.refresh().await?;
    let pipeline = Arc::new(
        Pipeline::new(sites.clone(), shared_salts, enrichers)
            .anonymize_ip(settings.anonymize_ip)
            .visit_limits(settings.visit_limits),
    );
    let now = clock.now().timestamp().max(0) as u32;
    seed_sessions(&store, &pipeline, now).await?;

    let (shutdown, shutdown_rx) = watch::channel(false);
    let engine = luister_query::QueryEngine::with_limits(store.clone(), settings.query_limits);
    let flusher = Flusher::new(
        spool.clone(),
        StoreSink {
            store: store.clone(),
            engine: engine.clone(),
        },
        settings.flusher.clone(),
    );
    let flusher = tokio::spawn(flusher.run(shutdown_rx.clone()));
    tokio::spawn(upkeep(
        store.clone(),
        sites.clone(),
        salts.clone(),
        pipeline.clone(),
        settings.site_refresh,
        shutdown_rx.clone(),
    ));
    tokio::spawn(apply_retention(
        store.clone(),
        clock.clone(),
        shutdown_rx.clone(),
    ));
    tokio::spawn(deliver_reports(
        store.clone(),
        engine.clone(),
        clock.clone(),
        settings.delivery.clone(),
        settings.delivery_check,
        shutdown_rx.clone(),
    ));
    tokio::spawn(build_rollups(
        store.clone(),
        engine.clone(),
        clock.clone(),
        shutdown_rx,
    ));

    let state = web::Data::new(AppState {
        store,
        engine,
        pipeline,
        spool,
        clock,
        settings: settings.clone(),
        salts,
        sites,
        site_misses: Default::default(),
        limiters: Limiters::new(settings.rate_limits),
    });
    let dashboard = web::Data::new(luister_dashboard::Dashboard::new(
        state.store.clone(),
        state.engine.clone(),
        state.clock.clone(),
        settings.dashboard.clone(),
    ));
    if !dashboard.has_design_system_styles() {
        tracing::warn!(
            "built without the NL Design System styles: run scripts/fetch-data.sh and rebuild"
        );
    }
    let app_state = state.clone();
    let open_data_cache = web::Data::new(crate::open_data::OpenDataCache::default());
    let body_limit = settings.max_event_body;
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(app_state.clone())
            .app_data(dashboard.clone())
            .app_data(open_data_cache.clone())
            .wrap(from_fn(http_guard::guard))
            .wrap(Compress::default())
            .wrap(from_fn(http_metrics::record))
            .service(
                web::resource("/api/event")
                    .app_data(web::PayloadConfig::new(body_limit))
                    .wrap(collector_cors())
                    .route(web::post().to(collector::post_event)),
            )
            .service(
                web::resource(["/matomo.php", "/piwik.php"])
                    .app_data(web::PayloadConfig::new(matomo::MAX_BODY))
                    .wrap(collector_cors())
                    .route(web::get().to(matomo::track))
                    .route(web::post().to(matomo::track)),
            )
            .route("/health", web::get().to(ops::health))
            .route("/ready", web::get().to(ops::ready))
            .route("/metrics", web::get().to(ops::metrics))
            .route("/js/{file}", web::get().to(tracker::serve))
            .configure(crate::open_data::configure)
            .configure(crate::api::configure)
            .configure(luister_dashboard::configure)
    })
    .disable_signals()
    .shutdown_timeout(10);
    if settings.workers > 0 {
        server = server.workers(settings.workers);
    }
    let server = server
        .bind(settings.listen)
        .map_err(|source| StartError::Bind {
            addr: settings.listen,
            source,
        })?;
    let addr = server.addrs().first().copied().unwrap_or(settings.listen);
    let server = server.run();
    let http = server.handle();
    let http_task = tokio::spawn(server);
    Ok(ServerHandle {
        addr,
        state,
        http,
        http_task,
        shutdown,
        flusher,
    })
}

/// Any page may send events (the tracker runs on the gemeente's own site).
fn collector_cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .allowed_methods(["POST", "OPTIONS"])
        .allow_any_header()
        .max_age(86_400)
}
