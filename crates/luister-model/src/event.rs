//! An event before enrichment ([`RawEvent`]) and as stored ([`EventRecord`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `search_results` of a search whose result count the page did not report.
pub const UNKNOWN_SEARCH_RESULTS: i32 = -1;

/// What a collector endpoint or the importer decoded, before any validation.
///
/// It still holds personal data (IP address, User-Agent, full URL): it lives only in
/// memory and in the short-lived spool, and never reaches ClickHouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RawEvent {
    /// When the event happened: the clock at receipt, or the timestamp of an imported line.
    pub timestamp: DateTime<Utc>,
    pub domain: String,
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub referrer: String,
    /// Custom properties, in the order they were sent.
    #[serde(default)]
    pub props: Vec<(String, String)>,
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub user_agent: String,
    /// Revenue in cents and its ISO currency, when the event carried one.
    #[serde(default)]
    pub revenue: Option<(i64, String)>,
    /// False for events that must not end a bounce (Plausible's `interactive: false`).
    #[serde(default = "default_true")]
    pub interactive: bool,
    /// Keep the `#fragment` in the pathname (Plausible's `h`).
    #[serde(default)]
    pub keep_hash: bool,
    /// Engagement (Plausible's `engagement` event): deepest scroll in percent.
    #[serde(default)]
    pub scroll_depth: Option<u8>,
    /// Engagement: milliseconds the page was in view.
    #[serde(default)]
    pub engaged_ms: Option<u32>,
}

fn default_true() -> bool {
    true
}

/// One row of ClickHouse's `events` table: anonymous, enriched, ready to store.
///
/// Field names are the column names; `props.key`/`props.value` are parallel arrays
/// because they work on every ClickHouse release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row, Default)]
pub struct EventRecord {
    pub site_id: String,
    /// Seconds since the Unix epoch, UTC.
    pub timestamp: u32,
    /// Random id given at receipt; lets a retried insert find what already landed.
    pub event_id: u64,
    pub name: String,
    pub visitor_id: u64,
    pub session_id: u64,
    pub hostname: String,
    pub pathname: String,
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
    pub search_term: String,
    pub search_results: i32,
    #[serde(rename = "props.key")]
    pub props_key: Vec<String>,
    #[serde(rename = "props.value")]
    pub props_value: Vec<String>,
    pub value_cents: i64,
    pub currency: String,
    pub interactive: u8,
    /// Deepest scroll in percent; 255 when not an engagement event.
    pub scroll_depth: u8,
    pub engaged_ms: u32,
}

impl EventRecord {
    /// The value of custom property `key`, if sent.
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.props_key
            .iter()
            .position(|k| k == key)
            .map(|i| self.props_value[i].as_str())
    }
}
