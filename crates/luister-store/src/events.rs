//! Writing event batches, exactly once even when an earlier attempt's outcome is unknown.

use crate::{Store, StoreError};
use luister_model::{EventRecord, SessionRecord};
use std::collections::HashSet;

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

    /// Inserts session changes; with `retry`, skips the (event, sign) pairs already stored.
    pub async fn insert_sessions(
        &self,
        batch: &[SessionRecord],
        retry: bool,
    ) -> Result<usize, StoreError> {
        let present = if retry {
            self.present_session_changes(batch).await?
        } else {
            HashSet::new()
        };
        let missing: Vec<&SessionRecord> = batch
            .iter()
            .filter(|s| !present.contains(&(s.event_id, s.sign)))
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let mut insert = self.client.insert::<SessionRecord>("sessions").await?;
        for record in &missing {
            insert.write(record).await?;
        }
        insert.end().await?;
        Ok(missing.len())
    }

    async fn present_session_changes(
        &self,
        batch: &[SessionRecord],
    ) -> Result<HashSet<(u64, i8)>, StoreError> {
        let Some(earliest) = batch.iter().map(|s| s.started_at).min() else {
            return Ok(HashSet::new());
        };
        let ids: Vec<u64> = batch.iter().map(|s| s.event_id).collect();
        let sites: Vec<&str> = batch
            .iter()
            .map(|s| s.site_id.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let present: Vec<(u64, i8)> = self
            .client
            .query(
                "SELECT event_id, sign FROM sessions WHERE has(?, site_id) \
                 AND started_at >= toDateTime(?) AND has(?, event_id)",
            )
            .bind(sites)
            .bind(earliest)
            .bind(ids)
            .fetch_all()
            .await?;
        Ok(present.into_iter().collect())
    }

    /// Visits with an event at or after `since` (Unix seconds), in their latest state;
    /// they seed the sessionizer after a restart so running visits continue.
    pub async fn open_sessions(&self, since: u32) -> Result<Vec<SessionRecord>, StoreError> {
        Ok(self
            .client
            .query(
                "SELECT ?fields FROM sessions FINAL WHERE started_at >= toDateTime(?) - 86400 \
                 AND ended_at >= toDateTime(?) AND sign = 1",
            )
            .bind(since)
            .bind(since)
            .fetch_all()
            .await?)
    }

    /// Recomputes the `sessions` table from `events` (after a manual data fix, or for
    /// rows inserted without the pipeline, as some tests do).
    pub async fn rebuild_sessions(&self) -> Result<(), StoreError> {
        self.client
            .query("TRUNCATE TABLE sessions")
            .execute()
            .await?;
        self.client
            .query(crate::schema::SESSIONS_FROM_EVENTS)
            .execute()
            .await?;
        Ok(())
    }
}
