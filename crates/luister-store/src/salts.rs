//! The `salts` table: the secret keys behind cookieless visitor ids.
//!
//! Salts live in ClickHouse (not in one collector's memory) so that several
//! collectors behind a load balancer hash a visitor alike. Old salts are deleted by
//! dropping their partition, after which yesterday's ids can no longer be recomputed.

use crate::{Store, StoreError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One salt: which rotation it serves, the first day of its period, and the 128-bit key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row)]
pub struct SaltRow {
    pub rotation: String,
    /// Days since 1970-01-01 (ClickHouse `Date`).
    pub period_start: u16,
    pub k0: u64,
    pub k1: u64,
    pub created_ns: u64,
}

impl SaltRow {
    pub fn period_start_date(&self) -> NaiveDate {
        epoch() + chrono::Days::new(self.period_start.into())
    }
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date")
}

fn days_since_epoch(date: NaiveDate) -> u16 {
    (date - epoch()).num_days().clamp(0, u16::MAX.into()) as u16
}

impl Store {
    /// The salt of `(rotation, period_start)`, creating a random one if none exists.
    ///
    /// When two collectors create one at the same moment, both then read the oldest
    /// row, so they agree from the first read on.
    pub async fn ensure_salt(
        &self,
        rotation: &str,
        period_start: NaiveDate,
    ) -> Result<SaltRow, StoreError> {
        if let Some(row) = self.read_salt(rotation, period_start).await? {
            return Ok(row);
        }
        let candidate = SaltRow {
            rotation: rotation.into(),
            period_start: days_since_epoch(period_start),
            k0: rand::random(),
            k1: rand::random(),
            created_ns: crate::sites::version_now(),
        };
        let mut insert = self.client.insert::<SaltRow>("salts").await?;
        insert.write(&candidate).await?;
        insert.end().await?;
        Ok(self
            .read_salt(rotation, period_start)
            .await?
            .unwrap_or(candidate))
    }

    async fn read_salt(
        &self,
        rotation: &str,
        period_start: NaiveDate,
    ) -> Result<Option<SaltRow>, StoreError> {
        Ok(self
            .client
            .query(
                "SELECT ?fields FROM salts WHERE rotation = ? AND period_start = toDate(?) \
                 ORDER BY created_ns, k0 LIMIT 1",
            )
            .bind(rotation)
            .bind(period_start.format("%Y-%m-%d").to_string())
            .fetch_optional()
            .await?)
    }

    /// Deletes every `rotation` salt whose period started before `keep_from`; returns how many.
    ///
    /// Dropping the partition removes the key at once (a mutation would linger).
    pub async fn delete_salts_before(
        &self,
        rotation: &str,
        keep_from: NaiveDate,
    ) -> Result<usize, StoreError> {
        #[derive(Deserialize, clickhouse::Row)]
        struct Period {
            period_start: u16,
        }
        let old: Vec<Period> = self
            .client
            .query("SELECT DISTINCT period_start FROM salts WHERE rotation = ? AND period_start < toDate(?)")
            .bind(rotation)
            .bind(keep_from.format("%Y-%m-%d").to_string())
            .fetch_all()
            .await?;
        for period in &old {
            let day = (epoch() + chrono::Days::new(period.period_start.into()))
                .format("%Y%m%d")
                .to_string();
            self.client
                .query(&format!(
                    "ALTER TABLE salts DROP PARTITION ('{}', {day})",
                    escape_rotation(rotation)?
                ))
                .execute()
                .await?;
        }
        Ok(old.len())
    }

    /// The salt of every stored period, one each: when collectors raced to create one,
    /// the oldest row, the one [`Store::ensure_salt`] agrees on. Every collector must
    /// pick the same, or one visitor gets two ids.
    pub async fn list_salts(&self) -> Result<Vec<SaltRow>, StoreError> {
        let mut rows: Vec<SaltRow> = self
            .client
            .query("SELECT ?fields FROM salts ORDER BY rotation, period_start, created_ns, k0")
            .fetch_all()
            .await?;
        rows.dedup_by(|later, first| {
            (later.rotation == first.rotation) && (later.period_start == first.period_start)
        });
        Ok(rows)
    }
}

/// Rotation names are spliced into a partition literal, so only known names pass.
fn escape_rotation(rotation: &str) -> Result<&str, StoreError> {
    match rotation {
        "daily" | "weekly" => Ok(rotation),
        other => Err(StoreError::Invalid {
            field: "rotation",
            reason: format!("{other:?} is not daily or weekly"),
        }),
    }
}
