//! The ingestion pipeline: validate → enrich → sessionize, as one ordered list of stages.
//!
//! [`Pipeline::process`] turns a decoded [`RawEvent`] into an anonymous
//! [`EventRecord`] or says why it was dropped. Live traffic and imports use the
//! same pipeline (with different salt sources), so they give identical rows.

use crate::enrich::{page_url, pii};
use crate::enrich::{
    BotDetector, BotReason, DataFiles, EnrichError, GeoLookup, ReferrerClassifier, UserAgentParser,
};
use crate::salts::{period_start, previous_period_start, visitor_id, SaltSource};
use crate::sessionize::{Sessionizer, VisitLimits};
use crate::validate::{validate, Invalid, SiteRegistry};
use luister_model::{EventRecord, RawEvent, SessionRecord, Site, UNKNOWN_SEARCH_RESULTS};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Why an event was not stored. Every drop is counted by [`DropReason::as_str`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    UnknownSite,
    InvalidUrl(String),
    /// The page's host is neither the site's domain, an extra host, nor a subdomain of one.
    ForeignHost(String),
    Bot(BotReason),
    /// The salt of the event's period is not (yet) known to this collector.
    NoSalt,
}

impl DropReason {
    /// Label for metrics and import reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            DropReason::UnknownSite => "unknown_site",
            DropReason::InvalidUrl(_) => "invalid_url",
            DropReason::ForeignHost(_) => "foreign_host",
            DropReason::Bot(reason) => reason.as_str(),
            DropReason::NoSalt => "no_salt",
        }
    }

    /// Drops the sender should hear about (4xx); bots are dropped silently.
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            DropReason::UnknownSite | DropReason::InvalidUrl(_) | DropReason::ForeignHost(_)
        )
    }
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::UnknownSite => write!(f, "unknown site: add it with `luister sites add`"),
            DropReason::InvalidUrl(why) => write!(f, "invalid url: {why}"),
            DropReason::ForeignHost(host) => write!(
                f,
                "page host {host} does not belong to the site: add it with `luister sites add --host`"
            ),
            DropReason::Bot(reason) => write!(f, "bot ({})", reason.as_str()),
            DropReason::NoSalt => write!(f, "no visitor salt for this day yet"),
        }
    }
}

/// What one event becomes: its row, and the changes to its visit's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub event: EventRecord,
    pub sessions: Vec<SessionRecord>,
}

/// Where the enrichment data files are and which switches apply.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub data_files: DataFiles,
    /// Keep events from headless browsers (our own browser tests need this).
    pub allow_headless: bool,
}

/// The loaded data behind enrichment; loaded once, shared by every pipeline.
pub struct Enrichers {
    pub user_agents: UserAgentParser,
    pub bots: BotDetector,
    pub geo: GeoLookup,
    pub referrers: ReferrerClassifier,
}

impl Enrichers {
    pub fn load(config: &PipelineConfig) -> Result<Self, EnrichError> {
        let files = &config.data_files;
        Ok(Self {
            user_agents: UserAgentParser::load(&files.regexes_yaml)?,
            bots: BotDetector::load(files.crawler_user_agents_json.as_deref())?
                .with_allow_headless(config.allow_headless),
            geo: GeoLookup::open(&files.geo_databases)?,
            referrers: ReferrerClassifier::load(files.referers_yml.as_deref())?,
        })
    }
}

/// validate → enrich → sessionize for one collector or one import.
pub struct Pipeline {
    sites: Arc<SiteRegistry>,
    salts: Arc<dyn SaltSource>,
    sessions: Sessionizer,
    enrichers: Arc<Enrichers>,
    accept_missing_user_agent: bool,
    anonymize_ip: bool,
}

impl Pipeline {
    pub fn new(
        sites: Arc<SiteRegistry>,
        salts: Arc<dyn SaltSource>,
        enrichers: Arc<Enrichers>,
    ) -> Self {
        Self {
            sites,
            salts,
            sessions: Sessionizer::default(),
            enrichers,
            accept_missing_user_agent: false,
            anonymize_ip: false,
        }
    }

    /// Bounds the open visits kept in memory (see [`VisitLimits`]).
    pub fn visit_limits(mut self, limits: VisitLimits) -> Self {
        self.sessions = Sessionizer::with_limits(limits);
        self
    }

    /// Shorten client addresses (IPv4 to /24, IPv6 to /64) before they are hashed or
    /// looked up: people sharing a network prefix and browser then share a visitor id.
    pub fn anonymize_ip(mut self, anonymize: bool) -> Self {
        self.anonymize_ip = anonymize;
        self
    }

    /// Keep events without a User-Agent. Live, a request without one is a script;
    /// an import file may simply not have recorded it.
    pub fn accept_missing_user_agent(mut self, accept: bool) -> Self {
        self.accept_missing_user_agent = accept;
        self
    }

    pub fn sites(&self) -> &SiteRegistry {
        &self.sites
    }

    pub fn sessions(&self) -> &Sessionizer {
        &self.sessions
    }

    /// Runs every stage; the record holds no IP address, User-Agent or query string.
    pub fn process(&self, raw: &RawEvent) -> Result<Processed, DropReason> {
        if self.anonymize_ip && raw.ip.is_some() {
            let shortened = RawEvent {
                ip: raw.ip.map(shorten_ip),
                ..raw.clone()
            };
            return self.process_as_given(&shortened);
        }
        self.process_as_given(raw)
    }

    fn process_as_given(&self, raw: &RawEvent) -> Result<Processed, DropReason> {
        let site = validate(raw, &self.sites).map_err(|invalid| match invalid {
            Invalid::UnknownSite => DropReason::UnknownSite,
            Invalid::BadUrl(why) => DropReason::InvalidUrl(why),
        })?;
        let agent = self.enrichers.user_agents.parse(&raw.user_agent);
        let unknown_agent = self.accept_missing_user_agent && raw.user_agent.trim().is_empty();
        if let Some(reason) = self
            .enrichers
            .bots
            .check(&raw.user_agent, &agent)
            .filter(|_| !unknown_agent)
        {
            return Err(DropReason::Bot(reason));
        }
        let page = page_url::parse_page_url(&raw.url, &site, raw.keep_hash)
            .map_err(|e| DropReason::InvalidUrl(e.to_string()))?;
        if !site.owns_host(&page.hostname) {
            return Err(DropReason::ForeignHost(page.hostname));
        }
        let timestamp = raw.timestamp.timestamp().clamp(0, u32::MAX.into()) as u32;
        let (visitor, session) = self.identify(raw, &site, timestamp)?;
        let referral = self
            .enrichers
            .referrers
            .classify_page(&raw.referrer, &page, &site);
        let geo = raw
            .ip
            .map(|ip| self.enrichers.geo.lookup(ip))
            .unwrap_or_default();
        let mut record = EventRecord {
            site_id: site.domain.clone(),
            timestamp,
            event_id: rand::random::<u64>().max(1),
            name: pii::scrub(&raw.name).into_owned(),
            visitor_id: visitor,
            session_id: session,
            hostname: page.hostname,
            pathname: page.pathname,
            referrer: referral.referrer,
            referrer_source: referral.source,
            channel: referral.channel,
            utm_source: page.utm_source,
            utm_medium: page.utm_medium,
            utm_campaign: page.utm_campaign,
            utm_content: page.utm_content,
            utm_term: page.utm_term,
            country_code: geo.country_code,
            region: geo.region,
            city: geo.city,
            browser: agent.browser.clone(),
            browser_version: agent.browser_version.clone(),
            os: agent.os.clone(),
            os_version: agent.os_version.clone(),
            device: agent.device.clone(),
            // Only the results page itself is a search, not every event sent from it.
            search_term: if raw.name == "pageview" {
                page.search_term.unwrap_or_default()
            } else {
                String::new()
            },
            search_results: UNKNOWN_SEARCH_RESULTS,
            value_cents: raw.revenue.as_ref().map_or(0, |r| r.0),
            currency: raw
                .revenue
                .as_ref()
                .map(|r| r.1.clone())
                .unwrap_or_default(),
            interactive: raw.interactive.into(),
            scroll_depth: raw.scroll_depth.unwrap_or(u8::MAX),
            engaged_ms: raw.engaged_ms.unwrap_or(0),
            ..Default::default()
        };
        apply_props(&mut record, &raw.props);
        let sessions = self.sessions.record(&record);
        Ok(Processed {
            event: record,
            sessions,
        })
    }

    /// Visitor id under the current salt, continuing a visit open under the previous one.
    fn identify(
        &self,
        raw: &RawEvent,
        site: &Site,
        timestamp: u32,
    ) -> Result<(u64, u64), DropReason> {
        let day = raw.timestamp.date_naive();
        let rotation = site.salt_rotation;
        let key = self
            .salts
            .salt(rotation, period_start(rotation, day))
            .ok_or(DropReason::NoSalt)?;
        let current = visitor_id(key, &site.domain, raw.ip, &raw.user_agent);
        let previous = self
            .salts
            .salt(rotation, previous_period_start(rotation, day))
            .map(|key| visitor_id(key, &site.domain, raw.ip, &raw.user_agent));
        let assigned = self
            .sessions
            .assign(current, previous, timestamp, &raw.name);
        Ok((assigned.visitor_id, assigned.session_id))
    }
}

/// The network part of an address: IPv4 /24, IPv6 /64.
pub fn shorten_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 0))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// Props are scrubbed of personal data (keys too; a URL value also loses its query string
/// and fragment, as page URLs do); `query`/`results` of a `search` event and `results` of a
/// search pageview become the search columns.
fn apply_props(record: &mut EventRecord, props: &[(String, String)]) {
    let is_search_event = record.name == "search";
    for (key, value) in props {
        let key = pii::scrub(key);
        let value = if is_search_event && key == "query" {
            let term = pii::normalize_search_term(value);
            record.search_term = term.clone();
            term
        } else {
            let value = page_url::link_without_query(value).unwrap_or(Cow::Borrowed(value));
            pii::scrub(&value).into_owned()
        };
        if key == "results" && (is_search_event || !record.search_term.is_empty()) {
            if let Ok(count) = value.trim().parse::<i64>() {
                record.search_results = count.clamp(0, i32::MAX.into()) as i32;
            }
        }
        record.props_key.push(key.into_owned());
        record.props_value.push(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortened_addresses_keep_only_the_network() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(shorten_ip(ip("203.0.113.77")), ip("203.0.113.0"));
        assert_eq!(shorten_ip(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
    }
}
