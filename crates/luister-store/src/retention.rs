//! Per-site retention: events, visits and the answers derived from them that are older
//! than a site's `retention_months` are deleted (the daily job in `luister serve`).
//!
//! Partitions hold every site's month, so one site's old rows go with `ALTER … DELETE`
//! (a background mutation), issued only when there is something to delete.

use crate::{Store, StoreError};
use chrono::{Months, NaiveDate};
use luister_model::Site;

/// What one table of a site looks like to retention: its name and its date column.
const TABLES: [(&str, &str); 4] = [
    ("events", "toDate(timestamp)"),
    ("sessions", "toDate(started_at)"),
    ("period_rollup", "period"),
    ("funnel_days", "day"),
];

impl Store {
    /// The first day `site` keeps on `today`, when it has a retention.
    pub fn retention_cutoff(site: &Site, today: NaiveDate) -> Option<NaiveDate> {
        (site.retention_months > 0)
            .then(|| today.checked_sub_months(Months::new(site.retention_months.into())))
            .flatten()
    }

    /// Deletes what `site` keeps no longer; returns the rows found to delete. The deletion
    /// runs in ClickHouse's background and is done within minutes.
    pub async fn apply_retention(&self, site: &Site, today: NaiveDate) -> Result<u64, StoreError> {
        let Some(cutoff) = Self::retention_cutoff(site, today) else {
            return Ok(0);
        };
        let cutoff = cutoff.format("%Y-%m-%d").to_string();
        let mut found = 0;
        for (table, date) in TABLES {
            let old: u64 = self
                .client
                .query(&format!(
                    "SELECT count() FROM {table} WHERE site_id = ? AND {date} < toDate(?)"
                ))
                .bind(&site.domain)
                .bind(&cutoff)
                .fetch_one()
                .await?;
            if old > 0 {
                self.client
                    .query(&format!(
                        "ALTER TABLE {table} DELETE WHERE site_id = ? AND {date} < toDate(?)"
                    ))
                    .bind(&site.domain)
                    .bind(&cutoff)
                    .execute()
                    .await?;
                found += old;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_is_whole_months_back() {
        let mut site = Site::new("enschede.nl");
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(Store::retention_cutoff(&site, day("2026-11-30")), None);
        site.retention_months = 13;
        assert_eq!(
            Store::retention_cutoff(&site, day("2026-11-30")),
            Some(day("2025-10-30"))
        );
        site.retention_months = 1;
        assert_eq!(
            Store::retention_cutoff(&site, day("2026-03-31")),
            Some(day("2026-02-28"))
        );
    }
}
