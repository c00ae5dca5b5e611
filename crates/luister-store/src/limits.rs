//! Bounds on the work one report query may cause in ClickHouse, and cancelling a query
//! whose caller has gone away.
//!
//! Report queries run under [`QueryLimits`] (ClickHouse's `max_execution_time` and
//! `max_memory_usage`), so a costly question fails with a clear error instead of slowing
//! every gemeente's dashboard. A query run through [`Store::cancellable`] carries a
//! `query_id`; when the future waiting for it is dropped (the HTTP client hung up),
//! [`CancelOnDrop`] asks ClickHouse to `KILL` it, which works on 18.16 and current releases.

use crate::Store;
use clickhouse::query::Query;
use clickhouse::Client;

/// Limits for one class of queries (API reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Seconds before ClickHouse stops the query (`max_execution_time`).
    pub max_execution_seconds: u64,
    /// Bytes of memory the query may use (`max_memory_usage`).
    pub max_memory_bytes: u64,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_execution_seconds: 30,
            max_memory_bytes: 4 << 30,
        }
    }
}

impl Store {
    /// The client with `limits` applied to every query it sends.
    pub fn limited_client(&self, limits: QueryLimits) -> Client {
        self.client
            .clone()
            .with_setting(
                "max_execution_time",
                limits.max_execution_seconds.to_string(),
            )
            .with_setting("max_memory_usage", limits.max_memory_bytes.to_string())
    }

    /// Tags `query` with a fresh `query_id`; dropping the guard before
    /// [`CancelOnDrop::finished`] kills the query in ClickHouse.
    pub fn cancellable(&self, query: Query) -> (Query, CancelOnDrop) {
        let id = format!("luister-{:032x}", rand::random::<u128>());
        let guard = CancelOnDrop {
            client: self.client.clone(),
            query_id: Some(id.clone()),
        };
        (query.with_setting("query_id", id), guard)
    }
}

/// Kills its query in ClickHouse when dropped before the answer was read.
pub struct CancelOnDrop {
    client: Client,
    query_id: Option<String>,
}

impl CancelOnDrop {
    /// The query's id in `system.processes` and the query log.
    pub fn query_id(&self) -> &str {
        self.query_id.as_deref().unwrap_or_default()
    }

    /// The answer was read: nothing to cancel.
    pub fn finished(mut self) {
        self.query_id = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(id) = self.query_id.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.client.clone();
        runtime.spawn(async move {
            let killed = client
                .query("KILL QUERY WHERE query_id = ? ASYNC")
                .bind(id.as_str())
                .execute()
                .await;
            if let Err(e) = killed {
                tracing::warn!("cancelling abandoned query {id}: {e}");
            }
        });
    }
}
