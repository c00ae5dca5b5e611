//! Running compiled queries against ClickHouse and shaping typed results.
//!
//! The engine decides which statements a query needs (event or visit totals, a second
//! statement for conversion-rate bases or the previous period) and merges their rows;
//! it never writes SQL itself.

mod funnel;
mod goals;
mod impact;
mod network;
mod rollup;
mod search;
mod stats;

use crate::sql::Sql;
use crate::QueryError;
use luister_store::{Goal, QueryLimits, Store};

pub use impact::{ConversionCounts, SearchCounts};
pub use rollup::RollupReport;

/// Runs typed queries on one store; cheap to clone.
#[derive(Clone)]
pub struct QueryEngine {
    store: Store,
    /// The store's client with the report limits applied; every report reads through it.
    client: clickhouse::Client,
    /// Whether unfiltered stats and search reports may read the rollup tables.
    rollups: bool,
    /// What the rollups cover, per site and range, for a short while (shared by clones).
    coverage_cache: rollup::CoverageCache,
}

impl QueryEngine {
    pub fn new(store: Store) -> Self {
        Self::with_limits(store, QueryLimits::default())
    }

    /// An engine whose report queries run under `limits`.
    pub fn with_limits(store: Store, limits: QueryLimits) -> Self {
        Self {
            client: store.limited_client(limits),
            store,
            rollups: true,
            coverage_cache: rollup::CoverageCache::default(),
        }
    }

    /// The same engine reading only `events` and `sessions`: slower, the same answers (what
    /// tests compare the rollups with).
    pub fn without_rollups(self) -> Self {
        Self {
            rollups: false,
            ..self
        }
    }

    /// Forgets what the rollups were found to cover (the next query looks again).
    pub fn forget_coverage(&self) {
        self.coverage_cache.clear();
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs a report statement; dropping the future (the caller hung up) kills it in ClickHouse.
    async fn fetch<T>(&self, sql: &Sql) -> Result<Vec<T>, QueryError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let (query, guard) = self.store.cancellable(sql.to_query(&self.client));
        let rows = query.fetch_all::<T>().await?;
        guard.finished();
        Ok(rows)
    }

    /// [`QueryEngine::fetch`] for a statement with exactly one row.
    async fn fetch_one<T>(&self, sql: &Sql) -> Result<T, QueryError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        let (query, guard) = self.store.cancellable(sql.to_query(&self.client));
        let row = query.fetch_one::<T>().await?;
        guard.finished();
        Ok(row)
    }

    async fn goals(&self, site_id: &str) -> Result<Vec<Goal>, QueryError> {
        Ok(self.store.list_goals(site_id).await?)
    }
}

/// `part / whole` in percent, two decimals.
pub(crate) fn pct(part: u64, whole: u64) -> f64 {
    crate::metric::percent(part, whole)
}
