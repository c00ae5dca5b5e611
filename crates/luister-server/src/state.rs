//! What every handler can reach: the pipeline, the spool, the store, the clock.

use crate::background::SaltKeeper;
use crate::rate_limit::{Limiters, RateLimits};
use crate::{ForwardedHeader, TrustedProxies};
use luister_ingest::sessionize::VisitLimits;
use luister_ingest::validate::SiteRegistry;
use luister_ingest::Pipeline;
use luister_model::Clock;
use luister_spool::{FlusherConfig, Spool, SpoolConfig};
use luister_store::{QueryLimits, Store, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Server settings, filled from the configuration file and environment by the CLI.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub trusted_proxies: TrustedProxies,
    /// The header trusted proxies put the client address in.
    pub forwarded_header: ForwardedHeader,
    /// Shorten client addresses (IPv4 /24, IPv6 /64) before hashing and geo lookup.
    pub anonymize_ip: bool,
    /// Limits on the ClickHouse work of one API query.
    pub query_limits: QueryLimits,
    /// Open visits kept in memory at most.
    pub visit_limits: VisitLimits,
    /// Rate limits of the collector and of failed authentication.
    pub rate_limits: RateLimits,
    /// Largest accepted collector body.
    pub max_event_body: usize,
    /// `LUISTER_ADMIN_TOKEN`: accepted as an admin bearer token.
    pub admin_token: Option<String>,
    pub spool: SpoolConfig,
    pub flusher: FlusherConfig,
    /// How often the site list is re-read from ClickHouse (other collectors may change it).
    pub site_refresh: Duration,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// The web dashboard at `/`.
    pub dashboard: luister_dashboard::DashboardSettings,
    /// Where cycle reports and alerts go, and how often to check what is due.
    pub delivery: luister_delivery::DeliverySettings,
    pub delivery_check: Duration,
}

/// Shared state of one running server.
pub struct AppState {
    pub store: Store,
    /// Answers the query API; shared, so what it learns of the rollups serves every request.
    pub engine: luister_query::QueryEngine,
    pub pipeline: Arc<Pipeline>,
    pub spool: Arc<Spool>,
    pub clock: Arc<dyn Clock>,
    pub settings: ServerSettings,
    pub(crate) salts: Arc<SaltKeeper>,
    pub(crate) limiters: Limiters,
    pub(crate) sites: Arc<SiteRegistry>,
    pub(crate) site_misses: crate::site_lookup::SiteMisses,
}

impl AppState {
    /// Looks up domains the collector does not know yet (a site added a moment ago) and
    /// reloads the site list when ClickHouse has one of them.
    pub(crate) async fn learn_new_sites<'a>(&self, domains: impl IntoIterator<Item = &'a str>) {
        let mut found = false;
        for domain in domains {
            if found || self.sites.get(domain).is_some() || !self.site_misses.may_look_up(domain) {
                continue;
            }
            match self.store.get_site(domain).await {
                Ok(Some(_)) => found = true,
                Ok(None) => self.site_misses.missed(domain),
                Err(e) => tracing::warn!(error = %e, "looking up a new site failed"),
            }
        }
        if found {
            if let Err(e) = self.reload_sites().await {
                tracing::warn!(error = %e, "reloading the site list failed");
            }
        }
    }

    /// Re-reads the site list now (after the admin API changed it).
    pub async fn reload_sites(&self) -> Result<usize, StoreError> {
        let sites = self.store.list_sites().await?;
        let count = sites.len();
        self.sites.replace(sites);
        Ok(count)
    }
}
