//! Writing event batches, exactly once even when an earlier attempt's outcome is unknown.

use crate::{Store, StoreError};
use luister_model::EventRecord;
use serde::Deserialize;

/// The newest event of a visitor still inside a session window; seeds the sessionizer after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct RecentSession {
    pub site_id: String,
    pub visitor_id: u64,
    pub session_id: u64,
    pub last_seen: u32,
}

impl Store {
    /// Inserts `batch` as one INSERT.
    ///
    /// With `retry` set (an earlier attempt of this batch failed, possibly after
    /// ClickHouse had stored some or all of it), first asks which `event_id`s already
    /// landed and inserts only the rest; this is what makes spool replays exactly-once.
    pub async fn insert_events(
        &self,
        batch: &[EventRecord],
        retry: bool,
    ) -> Result<usize, StoreError> {
        let missing: Vec<&EventRecord> = if retry {
            let present = self.present_event_ids(batch).await?;
            batch
                .iter()
                .filter(|e| !present.contains(&e.event_id))
                .collect()
        } else {
            batch.iter().collect()
        };
        if missing.is_empty() {
            return Ok(0);
        }
        let mut insert = self.client.insert::<EventRecord>("events").await?;
        for record in &missing {
            insert.write(record).await?;
        }
        insert.end().await?;
        Ok(missing.len())
    }

    async fn present_event_ids(
        &self,
        batch: &[EventRecord],
    ) -> Result<std::collections::HashSet<u64>, StoreError> {
        let Some(first) = batch.first() else {
            return Ok(Default::default());
        };
        let (min, max) = batch
            .iter()
            .fold((first.timestamp, first.timestamp), |(lo, hi), e| {
                (lo.min(e.timestamp), hi.max(e.timestamp))
            });
        let ids: Vec<u64> = batch.iter().map(|e| e.event_id).collect();
        let sites: Vec<&str> = {
            let mut s: Vec<&str> = batch.iter().map(|e| e.site_id.as_str()).collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        let present: Vec<u64> = self
            .client
            .query(
                "SELECT event_id FROM events WHERE has(?, site_id) \
                 AND timestamp >= toDateTime(?) AND timestamp <= toDateTime(?) AND has(?, event_id)",
            )
            .bind(sites)
            .bind(min)
            .bind(max)
            .bind(ids)
            .fetch_all()
            .await?;
        Ok(present.into_iter().collect())
    }

    /// Each visitor's latest session that saw an event at or after `since` (Unix seconds).
    pub async fn recent_sessions(&self, since: u32) -> Result<Vec<RecentSession>, StoreError> {
        Ok(self
            .client
            .query(
                "SELECT site_id, visitor_id, argMax(session_id, timestamp) AS session_id, \
                 toUInt32(max(timestamp)) AS last_seen \
                 FROM events WHERE timestamp >= toDateTime(?) \
                 GROUP BY site_id, visitor_id",
            )
            .bind(since)
            .fetch_all()
            .await?)
    }
}
