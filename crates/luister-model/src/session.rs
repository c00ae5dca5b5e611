//! One row of the `sessions` table: a visit as it stands after its latest event.
//!
//! The table is a `CollapsingMergeTree(sign)`: when a visit gains an event, the row
//! that described it before is written again with `sign = -1` and the new state
//! with `sign = 1`. Queries aggregate with `sign` (`sum(sign)` visits), so they are
//! right before ClickHouse has merged the pairs away.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row, Default)]
pub struct SessionRecord {
    pub site_id: String,
    pub session_id: u64,
    pub visitor_id: u64,
    /// 1 for the current state, -1 to cancel an earlier state.
    pub sign: i8,
    /// The event that caused this change; with `sign` it makes a retried insert idempotent.
    pub event_id: u64,
    /// Unix seconds of the first and the latest event.
    pub started_at: u32,
    pub ended_at: u32,
    pub pageviews: u32,
    /// Every event except engagement reports.
    pub events: u32,
    /// Custom events that count as interaction (they end a bounce).
    pub interactions: u32,
    /// First and latest pageview path.
    pub entry_page: String,
    pub exit_page: String,
    pub hostname: String,
    pub referrer: String,
    pub referrer_source: String,
    pub channel: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_content: String,
    pub utm_term: String,
    pub country_code: String,
    pub region: String,
    pub city: String,
    pub browser: String,
    pub browser_version: String,
    pub os: String,
    pub os_version: String,
    pub device: String,
}

impl SessionRecord {
    /// Heap bytes held by its texts (what an open visit costs in memory beyond its struct).
    pub fn text_bytes(&self) -> usize {
        [
            &self.site_id,
            &self.entry_page,
            &self.exit_page,
            &self.hostname,
            &self.referrer,
            &self.referrer_source,
            &self.channel,
            &self.utm_source,
            &self.utm_medium,
            &self.utm_campaign,
            &self.utm_content,
            &self.utm_term,
            &self.country_code,
            &self.region,
            &self.city,
            &self.browser,
            &self.browser_version,
            &self.os,
            &self.os_version,
            &self.device,
        ]
        .iter()
        .map(|text| text.capacity())
        .sum::<usize>()
            + std::mem::size_of::<Self>()
    }

    /// Seconds between the first and the latest event.
    pub fn duration(&self) -> u32 {
        self.ended_at.saturating_sub(self.started_at)
    }

    /// Exactly one pageview and no interaction.
    pub fn is_bounce(&self) -> bool {
        self.pageviews == 1 && self.interactions == 0
    }

    /// The row that cancels this one.
    pub fn cancelled(&self) -> Self {
        Self {
            sign: -1,
            ..self.clone()
        }
    }
}
