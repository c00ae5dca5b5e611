//! The `site_cycles` table: the length and anchor of a site's review cycle (the
//! Digitaal Luisteren loop of analyse, act, measure). Which dates a cycle covers is
//! `luister-impact`'s business.

use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// A site's cycle as stored: `weeks` long, one beginning on `start_date` (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row)]
pub struct StoredCycle {
    pub site_id: String,
    pub weeks: u8,
    pub start_date: String,
    version: u64,
}

impl StoredCycle {
    pub fn new(site_id: &str, weeks: u8, start_date: &str) -> Self {
        Self {
            site_id: site_id.into(),
            weeks,
            start_date: start_date.into(),
            version: 0,
        }
    }
}

impl Store {
    /// The cycle set for a site, if any.
    pub async fn get_cycle(&self, site_id: &str) -> Result<Option<StoredCycle>, StoreError> {
        Ok(self
            .client
            .query("SELECT site_id, weeks, start_date, version FROM site_cycles FINAL WHERE site_id = ?")
            .bind(site_id)
            .fetch_optional()
            .await?)
    }

    /// Sets a site's cycle.
    pub async fn put_cycle(&self, cycle: &StoredCycle) -> Result<(), StoreError> {
        if self.get_site(&cycle.site_id).await?.is_none() {
            return Err(StoreError::SiteNotFound(cycle.site_id.clone()));
        }
        if !(1..=52).contains(&cycle.weeks) {
            return Err(StoreError::Invalid {
                field: "weeks",
                reason: "a cycle is 1 to 52 weeks".into(),
            });
        }
        let mut row = cycle.clone();
        row.version = crate::sites::version_now();
        let mut insert = self.client.insert::<StoredCycle>("site_cycles").await?;
        insert.write(&row).await?;
        insert.end().await?;
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize, clickhouse::Row)]
struct DeliveryRow {
    site_id: String,
    kind: String,
    key: String,
    delivered_at: u32,
}

impl Store {
    /// Whether `kind` (`report`, `alerts`) for `key` (a cycle's first day, a date) went out.
    pub async fn was_delivered(
        &self,
        site_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let n: u64 = self
            .client
            .query("SELECT count() FROM deliveries WHERE site_id = ? AND kind = ? AND key = ?")
            .bind(site_id)
            .bind(kind)
            .bind(key)
            .fetch_one()
            .await?;
        Ok(n > 0)
    }

    /// Records that `kind` for `key` went out.
    pub async fn record_delivery(
        &self,
        site_id: &str,
        kind: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        let mut insert = self.client.insert::<DeliveryRow>("deliveries").await?;
        insert
            .write(&DeliveryRow {
                site_id: site_id.into(),
                kind: kind.into(),
                key: key.into(),
                delivered_at: chrono::Utc::now().timestamp().max(0) as u32,
            })
            .await?;
        insert.end().await?;
        Ok(())
    }
}
