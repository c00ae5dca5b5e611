//! Work that runs beside the HTTP handlers: salts, the site list, session pruning,
//! and the sink that the spool flusher writes to.

use chrono::NaiveDate;
use luister_ingest::salts::{period_start, previous_period_start, SaltKey, SharedSalts};
use luister_ingest::validate::SiteRegistry;
use luister_ingest::Pipeline;
use luister_metrics as metrics;
use luister_model::{Clock, SaltRotation};
use luister_spool::{Batch, EventSink, SinkError};
use luister_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// The spool flusher's sink: exactly-once inserts into ClickHouse. Also what
/// `luister spool replay` writes quarantined segments with.
pub struct StoreSink {
    pub store: Store,
    pub engine: luister_query::QueryEngine,
}

impl EventSink for StoreSink {
    /// Events first, then the visit changes they caused; returns events stored.
    async fn write_batch(&self, batch: &Batch, retry: bool) -> Result<usize, SinkError> {
        let stored = self
            .store
            .insert_events(&batch.events, retry)
            .await
            .map_err(sink_error)?;
        self.store
            .insert_sessions(&batch.sessions, retry)
            .await
            .map_err(sink_error)?;
        self.rebuild_late_days(batch)
            .await
            .map_err(|e| SinkError::Unavailable(e.to_string()))?;
        Ok(stored)
    }
}

/// A refusal of the rows themselves is a rejection; anything else may pass later.
fn sink_error(e: StoreError) -> SinkError {
    if e.is_rejection() {
        SinkError::Rejected(e.to_string())
    } else {
        SinkError::Unavailable(e.to_string())
    }
}

/// Events older than this (seconds) may fall in salt periods whose rollups are built.
const LATE_AFTER_SECS: i64 = 36 * 3600;

impl StoreSink {
    /// Events that reach ClickHouse late (a spool replayed after a long outage) may
    /// belong to salt periods already rolled up: those are marked to be built again.
    async fn rebuild_late_days(&self, batch: &Batch) -> Result<(), luister_query::QueryError> {
        let late = chrono::Utc::now().timestamp() - LATE_AFTER_SECS;
        let events = batch
            .events
            .iter()
            .filter(|e| i64::from(e.timestamp) < late);
        self.engine.invalidate_rollups_for(events).await
    }
}

const ROTATIONS: [SaltRotation; 2] = [SaltRotation::Daily, SaltRotation::Weekly];

/// Keeps this collector's copy of the salts in step with ClickHouse.
pub(crate) struct SaltKeeper {
    pub store: Store,
    pub shared: Arc<SharedSalts>,
    pub clock: Arc<dyn Clock>,
}

impl SaltKeeper {
    /// Makes sure the current and next periods have salts, deletes those older than
    /// the previous period, and reloads the rest.
    pub async fn refresh(&self) -> Result<(), StoreError> {
        let today = self.clock.now().date_naive();
        for rotation in ROTATIONS {
            let current = period_start(rotation, today);
            let next = next_period(rotation, current);
            self.store.ensure_salt(rotation.as_str(), current).await?;
            self.store.ensure_salt(rotation.as_str(), next).await?;
            self.store
                .delete_salts_before(rotation.as_str(), previous_period_start(rotation, today))
                .await?;
        }
        self.reload().await
    }

    /// Creates the salt for an event's period on demand (e.g. an event just after midnight).
    pub async fn ensure_for(
        &self,
        rotation: SaltRotation,
        day: NaiveDate,
    ) -> Result<(), StoreError> {
        let start = period_start(rotation, day);
        if start < previous_period_start(rotation, self.clock.now().date_naive()) {
            // Never recreate a deleted salt: ids from that period must stay unlinkable.
            return Ok(());
        }
        self.store.ensure_salt(rotation.as_str(), start).await?;
        self.reload().await
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let rows = self.store.list_salts().await?;
        self.shared.replace(rows.into_iter().filter_map(|row| {
            let rotation = SaltRotation::parse(&row.rotation)?;
            Some((
                (rotation, row.period_start_date()),
                SaltKey {
                    k0: row.k0,
                    k1: row.k1,
                },
            ))
        }));
        Ok(())
    }
}

fn next_period(rotation: SaltRotation, current: NaiveDate) -> NaiveDate {
    match rotation {
        SaltRotation::Daily => current + chrono::Days::new(1),
        SaltRotation::Weekly => current + chrono::Days::new(7),
    }
}

/// Seeds the sessionizer with visits still open in ClickHouse, so a restart does not split them.
pub(crate) async fn seed_sessions(
    store: &Store,
    pipeline: &Pipeline,
    now: u32,
) -> Result<usize, StoreError> {
    let since = now.saturating_sub(luister_ingest::sessionize::SESSION_TIMEOUT_SECS);
    let open = store.open_sessions(since).await?;
    let count = open.len();
    for session in open {
        pipeline.sessions().seed(session);
    }
    Ok(count)
}

/// Periodic upkeep until the server stops.
pub(crate) async fn upkeep(
    store: Store,
    sites: Arc<SiteRegistry>,
    salts: Arc<SaltKeeper>,
    pipeline: Arc<Pipeline>,
    site_refresh: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut site_tick = tokio::time::interval(site_refresh);
    let mut minute = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = site_tick.tick() => match store.list_sites().await {
                Ok(list) => sites.replace(list),
                Err(e) => {
                    metrics::CLICKHOUSE_ERRORS.with_label_values(&["refresh"]).inc();
                    tracing::warn!("refreshing sites: {e}");
                }
            },
            _ = minute.tick() => {
                if let Err(e) = salts.refresh().await {
                    metrics::CLICKHOUSE_ERRORS.with_label_values(&["refresh"]).inc();
                    tracing::warn!("refreshing salts: {e}");
                }
                let now = salts.clock.now().timestamp().max(0) as u32;
                pipeline.sessions().prune(now);
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// How often sites' retention is applied.
const RETENTION_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// Deletes what each site keeps no longer (`retention_months`), at start and daily.
pub(crate) async fn apply_retention(
    store: Store,
    clock: Arc<dyn Clock>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(RETENTION_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let today = clock.now().date_naive();
                let sites = store.list_sites().await.unwrap_or_default();
                for site in sites.iter().filter(|s| s.retention_months > 0) {
                    match store.apply_retention(site, today).await {
                        Ok(0) => {}
                        Ok(rows) => tracing::info!(site = %site.domain, rows, "retention: deleting old rows"),
                        Err(e) => tracing::warn!(site = %site.domain, "retention: {e}"),
                    }
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// How often closed salt periods are looked for and rolled up.
const ROLLUP_INTERVAL: Duration = Duration::from_secs(600);

/// Builds the rollups of every site's closed salt periods, at start and every ten minutes,
/// until the server stops (a task of its own: a first build of a long history takes a while).
pub(crate) async fn build_rollups(
    store: Store,
    engine: luister_query::QueryEngine,
    clock: Arc<dyn Clock>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(ROLLUP_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let sites = match store.list_sites().await {
                    Ok(sites) => sites,
                    Err(e) => {
                        tracing::warn!("listing sites for rollups: {e}");
                        continue;
                    }
                };
                for site in sites {
                    let done = async {
                        let built = engine.build_rollups(&site, clock.now()).await?;
                        engine.warm_saved_funnels(&site, clock.now()).await?;
                        Ok::<_, luister_query::QueryError>(built)
                    };
                    match done.await {
                        Ok(r) if r.built > 0 => {
                            tracing::info!(site = %site.domain, periods = r.built, "built rollups");
                        }
                        Ok(_) => {}
                        Err(e) => {
                            metrics::CLICKHOUSE_ERRORS.with_label_values(&["rollups"]).inc();
                            tracing::warn!(site = %site.domain, "building rollups: {e}");
                        }
                    }
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Sends cycle reports and alerts when they are due (see `luister_delivery::due`), when
/// any channel is configured.
pub(crate) async fn deliver_reports(
    store: Store,
    engine: luister_query::QueryEngine,
    clock: Arc<dyn Clock>,
    settings: luister_delivery::DeliverySettings,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    if !settings.is_configured() {
        return;
    }
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match luister_delivery::due::deliver_due(&store, &engine, &settings, clock.now()).await {
                    Ok(done) => {
                        for line in done {
                            tracing::info!("delivered the {line}");
                        }
                    }
                    Err(e) => tracing::warn!("delivering reports and alerts (will try again): {e}"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}
