//! Typed queries: what a caller asks, validated, before any SQL exists.
//!
//! `params` builds these from HTTP parameters; `sql` compiles them; tests build them
//! directly. `now` is part of every query so periods and realtime are deterministic.

use crate::filter::Filter;
use crate::metric::Metric;
use crate::period::{DateRange, Interval};
use crate::property::Property;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use luister_model::Site;

/// Which events a query reads: one site, whole days in its time zone, filters.
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub site: Site,
    /// The site's time zone, parsed.
    pub tz: Tz,
    pub range: DateRange,
    pub filters: Vec<Filter>,
    pub now: DateTime<Utc>,
    /// Only visits started at or after this (Unix seconds): the part of a range that the
    /// rollups do not cover (see `engine::rollup`). `None`: all visits.
    pub visits_from: Option<u32>,
}

impl Scope {
    /// A scope over `range` with no filters; the site's time zone must be valid.
    pub fn new(
        site: Site,
        range: DateRange,
        now: DateTime<Utc>,
    ) -> Result<Self, crate::QueryError> {
        let tz = site.timezone.parse::<Tz>().map_err(|_| {
            crate::QueryError::param(
                "site_id",
                format!("site has invalid time zone {:?}", site.timezone),
            )
        })?;
        Ok(Self {
            site,
            tz,
            range,
            filters: Vec::new(),
            now,
            visits_from: None,
        })
    }

    /// `[start, end)` of the range as Unix seconds (what the `timestamp` column holds).
    pub fn bounds(&self) -> (u32, u32) {
        let (start, end) = self.range.utc_bounds(self.tz);
        (secs(start), secs(end))
    }

    /// The same scope over the previous period of equal length.
    pub fn previous(&self) -> Self {
        Self {
            range: self.range.previous(),
            ..self.clone()
        }
    }

    /// The same scope over the range `comparison` names.
    pub fn compared(&self, comparison: Comparison) -> Self {
        Self {
            range: match comparison {
                Comparison::PreviousPeriod => self.range.previous(),
                Comparison::YearOverYear => self.range.year_before(),
            },
            ..self.clone()
        }
    }

    /// The same scope without goal filters (the base of conversion rates).
    pub fn without_goal_filters(&self) -> Self {
        Self {
            filters: self
                .filters
                .iter()
                .filter(|f| f.property != Property::Goal)
                .cloned()
                .collect(),
            ..self.clone()
        }
    }

    pub fn has_goal_filter(&self) -> bool {
        self.filters.iter().any(|f| f.property == Property::Goal)
    }

    /// True when a filter is on an event property (`event:*`, goals included).
    pub fn has_event_filter(&self) -> bool {
        self.filters.iter().any(|f| !f.property.is_visit())
    }
}

pub(crate) fn secs(t: DateTime<Utc>) -> u32 {
    t.timestamp().clamp(0, u32::MAX.into()) as u32
}

/// `limit` and 1-based `page` of a breakdown or list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub limit: u32,
    pub page: u32,
}

impl Pagination {
    pub const MAX_LIMIT: u32 = 1000;

    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.limit)
    }
}

impl Default for Pagination {
    fn default() -> Self {
        Self {
            limit: 100,
            page: 1,
        }
    }
}

/// Aggregate, timeseries or breakdown of Plausible's Stats API v1.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsQuery {
    pub scope: Scope,
    pub metrics: Vec<Metric>,
    /// Set for a breakdown.
    pub dimension: Option<Property>,
    /// Used by timeseries.
    pub interval: Interval,
    pub pagination: Pagination,
    /// Add `change` against an earlier range (aggregate).
    pub compare: Option<Comparison>,
}

/// What a report is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// The range of equal length just before (`compare=previous_period`).
    PreviousPeriod,
    /// The same dates a year earlier (`compare=year_over_year`, as in Plausible's API v2).
    YearOverYear,
}

impl Comparison {
    pub const ALLOWED: &'static str = "previous_period, year_over_year";

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "previous_period" => Some(Self::PreviousPeriod),
            "year_over_year" => Some(Self::YearOverYear),
            _ => None,
        }
    }
}

/// Visitors in the last five minutes before `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct RealtimeQuery {
    pub site: Site,
    pub now: DateTime<Utc>,
}

/// One step of a funnel.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunnelStep {
    /// A pageview whose path matches a glob.
    Page(String),
    /// A custom event with this name.
    Event(String),
    /// A site search whose term matches a glob (`*` = any search).
    Search(String),
}

impl FunnelStep {
    /// How the step is shown in results.
    pub fn label(&self) -> String {
        match self {
            Self::Page(p) => format!("Visit {p}"),
            Self::Event(e) => e.clone(),
            Self::Search(s) if s == "*" => "Search".into(),
            Self::Search(s) => format!("Search {s}"),
        }
    }
}

/// Which visitors went through `steps` in order, each within `window_seconds` of the first.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelQuery {
    pub scope: Scope,
    pub steps: Vec<FunnelStep>,
    pub window_seconds: u32,
    /// Same funnel per value of a visit property (the visitor's first visit in the range).
    pub breakdown: Option<Property>,
    pub pagination: Pagination,
}

/// Which site-search report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReport {
    /// All terms, most searched first.
    Terms,
    /// Terms with searches that found nothing, most such searches first.
    ZeroResults,
    /// Terms searched in the range but not in the previous period.
    New,
}

/// Which sites of a partner network send visitors to which pages of the others.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowsQuery {
    /// The range, in the first site's time zone.
    pub scope: Scope,
    /// Every site of the network, the first one included.
    pub sites: Vec<Site>,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchTermsQuery {
    pub scope: Scope,
    pub report: SearchReport,
    pub pagination: Pagination,
    pub compare: Option<Comparison>,
}

/// What visitors did after searching `term`: next pages and goal conversions.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchAfterQuery {
    pub scope: Scope,
    pub term: String,
    pub pagination: Pagination,
}

/// Conversions, converters and value per goal of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalValueQuery {
    pub scope: Scope,
}
