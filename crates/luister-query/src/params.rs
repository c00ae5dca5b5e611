//! Plausible v1 request parameters (and our funnel/search/goal ones) → typed queries.
//!
//! Every error names the parameter and what it accepts. The caller resolves `site_id`
//! to a [`Site`] (it also checks access); unknown extra parameters are ignored, as
//! Plausible does (`with_imported`).

use crate::filter::{parse_filters, Filter};
use crate::metric::Metric;
use crate::period::{local_date, DateRange, Interval, Period};
use crate::property::Property;
use crate::query::*;
use crate::QueryError;
use chrono::{DateTime, NaiveDate, Utc};
use luister_model::Site;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Query-string parameters of one request.
pub type Params = HashMap<String, String>;

const MAX_DAYS: i64 = 3700;
const MAX_HOURLY_DAYS: i64 = 31;
const MAX_STEPS: usize = 8;
const MAX_WINDOW_SECONDS: u32 = 31 * 86_400;

fn get<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn parse_date(param: &'static str, s: &str) -> Result<NaiveDate, QueryError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| QueryError::param(param, format!("{s:?} is not a date like 2026-11-01")))
}

/// `period` (default `30d`) and `date` (default today in the site's time zone).
pub fn range(
    params: &Params,
    site_tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<(Period, DateRange), QueryError> {
    let period_text = get(params, "period").unwrap_or("30d");
    let period = Period::parse(period_text).ok_or_else(|| {
        QueryError::param(
            "period",
            format!("{period_text:?} is not one of {}", Period::ALLOWED),
        )
    })?;
    let range = if period == Period::Custom {
        let date = get(params, "date").ok_or_else(|| {
            QueryError::param("date", "period=custom needs date=YYYY-MM-DD,YYYY-MM-DD")
        })?;
        let (a, b) = date.split_once(',').ok_or_else(|| {
            QueryError::param("date", "period=custom needs date=YYYY-MM-DD,YYYY-MM-DD")
        })?;
        let range = DateRange {
            first: parse_date("date", a)?,
            last: parse_date("date", b)?,
        };
        check_window(&range, local_date(now, site_tz))?;
        if range.first > range.last {
            return Err(QueryError::param(
                "date",
                "the first date is after the second",
            ));
        }
        range
    } else {
        let date = match get(params, "date") {
            Some(d) => parse_date("date", d)?,
            None => local_date(now, site_tz),
        };
        let today = local_date(now, site_tz);
        check_window(
            &DateRange {
                first: date,
                last: date,
            },
            today,
        )?;
        // A period reaching back before the first report date starts there.
        let mut range = DateRange::ending(period, date);
        range.first = range.first.max(FIRST_REPORT_DATE);
        range
    };
    if range.days() > MAX_DAYS {
        return Err(QueryError::param(
            "date",
            format!("a range spans at most {MAX_DAYS} days"),
        ));
    }
    Ok((period, range))
}

/// Earliest date a report may cover.
pub const FIRST_REPORT_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2000, 1, 1) {
    Some(date) => date,
    None => panic!("2000-01-01 is a date"),
};

/// Dates are answered from [`FIRST_REPORT_DATE`] to one year after today.
fn check_window(range: &DateRange, today: NaiveDate) -> Result<(), QueryError> {
    let latest = today + chrono::Days::new(366);
    if range.first < FIRST_REPORT_DATE || range.last > latest {
        return Err(QueryError::param(
            "date",
            format!(
                "dates must lie between {FIRST_REPORT_DATE} and {latest} (one year from today)"
            ),
        ));
    }
    Ok(())
}

/// Site, range and `filters`.
pub fn scope(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<(Period, Scope), QueryError> {
    let probe = Scope::new(
        site,
        DateRange {
            first: NaiveDate::MIN,
            last: NaiveDate::MIN,
        },
        now,
    )?;
    let (period, range) = range(params, probe.tz, now)?;
    let filters = parse_filters("filters", get(params, "filters").unwrap_or(""))?;
    Ok((
        period,
        Scope {
            range,
            filters,
            ..probe
        },
    ))
}

fn metrics(params: &Params) -> Result<Vec<Metric>, QueryError> {
    let mut out: Vec<Metric> = Vec::new();
    for name in get(params, "metrics")
        .unwrap_or("visitors")
        .split(',')
        .map(str::trim)
    {
        let metric = Metric::parse(name).ok_or_else(|| {
            QueryError::param(
                "metrics",
                format!("unknown metric {name:?}; allowed: {}", Metric::allowed()),
            )
        })?;
        if out.contains(&metric) {
            return Err(QueryError::param(
                "metrics",
                format!("{name} is listed twice"),
            ));
        }
        out.push(metric);
    }
    Ok(out)
}

fn compare(params: &Params) -> Result<Option<Comparison>, QueryError> {
    match get(params, "compare") {
        None => Ok(None),
        Some(text) => Comparison::parse(text).map(Some).ok_or_else(|| {
            QueryError::param(
                "compare",
                format!("{text:?} is not one of {}", Comparison::ALLOWED),
            )
        }),
    }
}

fn number(params: &Params, name: &'static str, default: u32, max: u32) -> Result<u32, QueryError> {
    match get(params, name) {
        None => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                QueryError::param(name, format!("{s:?} is not a whole number from 1 to {max}"))
            }),
    }
}

/// `limit` (default 100, at most 1000) and 1-based `page`.
pub fn pagination(params: &Params) -> Result<Pagination, QueryError> {
    Ok(Pagination {
        limit: number(params, "limit", 100, Pagination::MAX_LIMIT)?,
        page: number(params, "page", 1, 1_000_000)?,
    })
}

fn stats(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<(Period, StatsQuery), QueryError> {
    let (period, scope) = scope(site, params, now)?;
    let query = StatsQuery {
        scope,
        metrics: metrics(params)?,
        dimension: None,
        interval: Interval::default_for(period),
        pagination: Pagination::default(),
        compare: None,
    };
    Ok((period, query))
}

fn require_goal_for_conversion_rate(q: &StatsQuery) -> Result<(), QueryError> {
    let goal_dimension = q.dimension == Some(Property::Goal);
    if q.metrics.contains(&Metric::ConversionRate) && !q.scope.has_goal_filter() && !goal_dimension
    {
        return Err(QueryError::param(
            "metrics",
            "conversion_rate needs an event:goal filter (or property=event:goal in a breakdown)",
        ));
    }
    Ok(())
}

/// `scroll_depth` and `time_on_page` are page-level metrics (as in Plausible): only in a
/// breakdown by `event:page`, or in aggregate and timeseries with an `event:page` filter.
/// The engine checks this too, for queries built without these functions.
pub fn check_engagement_metrics(q: &StatsQuery) -> Result<(), QueryError> {
    let Some(metric) = q.metrics.iter().find(|m| m.is_engagement()) else {
        return Ok(());
    };
    let page_filter = q.scope.filters.iter().any(|f| f.property == Property::Page);
    let ok = match &q.dimension {
        Some(dimension) => *dimension == Property::Page,
        None => page_filter,
    };
    if ok {
        return Ok(());
    }
    let why = match &q.dimension {
        Some(_) => "is a page-level metric: break down by property=event:page only",
        None => "is a page-level metric: it needs an event:page filter (e.g. filters=event:page==/contact), or a breakdown by property=event:page",
    };
    Err(QueryError::param(
        "metrics",
        format!("{} {why}", metric.name()),
    ))
}

/// `GET /api/v1/stats/aggregate`.
pub fn aggregate(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<StatsQuery, QueryError> {
    let (_, mut q) = stats(site, params, now)?;
    q.compare = compare(params)?;
    require_goal_for_conversion_rate(&q)?;
    check_engagement_metrics(&q)?;
    Ok(q)
}

/// `GET /api/v1/stats/timeseries`.
pub fn timeseries(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<StatsQuery, QueryError> {
    let (_, mut q) = stats(site, params, now)?;
    if let Some(i) = get(params, "interval") {
        q.interval = Interval::parse(i).ok_or_else(|| {
            QueryError::param(
                "interval",
                format!("{i:?} is not one of {}", Interval::ALLOWED),
            )
        })?;
    }
    if q.interval == Interval::Hour && q.scope.range.days() > MAX_HOURLY_DAYS {
        return Err(QueryError::param(
            "interval",
            format!(
                "hour needs a range of at most {MAX_HOURLY_DAYS} days; use date, week or month"
            ),
        ));
    }
    require_goal_for_conversion_rate(&q)?;
    check_engagement_metrics(&q)?;
    Ok(q)
}

/// `GET /api/v1/stats/breakdown`.
pub fn breakdown(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<StatsQuery, QueryError> {
    let (_, mut q) = stats(site, params, now)?;
    let name = get(params, "property").ok_or_else(|| {
        QueryError::param(
            "property",
            format!("missing; allowed: {}", Property::allowed()),
        )
    })?;
    let property = Property::parse(name).ok_or_else(|| {
        QueryError::param(
            "property",
            format!(
                "unknown property {name:?}; allowed: {}",
                Property::allowed()
            ),
        )
    })?;
    q.dimension = Some(property.clone());
    check_engagement_metrics(&q)?;
    check_breakdown_metrics(&property, &q.metrics)?;
    q.pagination = pagination(params)?;
    require_goal_for_conversion_rate(&q)?;
    Ok(q)
}

/// Metrics a breakdown by `property` can compute.
fn check_breakdown_metrics(property: &Property, metrics: &[Metric]) -> Result<(), QueryError> {
    let allowed: &[Metric] = match property {
        Property::Goal => &[Metric::Visitors, Metric::Events, Metric::ConversionRate],
        Property::Page => &[
            Metric::Visitors,
            Metric::Visits,
            Metric::Pageviews,
            Metric::Events,
            Metric::BounceRate,
            Metric::VisitDuration,
            Metric::ConversionRate,
            Metric::ScrollDepth,
            Metric::TimeOnPage,
        ],
        p if !p.is_visit() => &[
            Metric::Visitors,
            Metric::Visits,
            Metric::Pageviews,
            Metric::Events,
            Metric::ConversionRate,
        ],
        _ => return Ok(()),
    };
    match metrics.iter().find(|m| !allowed.contains(m)) {
        None => Ok(()),
        Some(m) => {
            let names: Vec<&str> = allowed.iter().map(|m| m.name()).collect();
            Err(QueryError::param(
                "metrics",
                format!(
                    "{} is not available with this property; allowed: {}",
                    m.name(),
                    names.join(", ")
                ),
            ))
        }
    }
}

/// `GET /api/v1/stats/realtime/visitors`.
pub fn realtime(site: Site, now: DateTime<Utc>) -> RealtimeQuery {
    RealtimeQuery { site, now }
}

/// `GET /api/v1/search/{terms,zero-results,new}`.
pub fn search_terms(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
    report: SearchReport,
) -> Result<SearchTermsQuery, QueryError> {
    let (_, scope) = scope(site, params, now)?;
    Ok(SearchTermsQuery {
        scope,
        report,
        pagination: pagination(params)?,
        compare: compare(params)?,
    })
}

/// `GET /api/v1/network/flows`: `sites` in the order asked, the range in the first one's
/// time zone.
pub fn network_flows(
    sites: Vec<Site>,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<FlowsQuery, QueryError> {
    let first = sites
        .first()
        .cloned()
        .ok_or_else(|| QueryError::param("site_id", "missing; give the network's sites"))?;
    let (_, scope) = scope(first, params, now)?;
    if !scope.filters.is_empty() {
        return Err(QueryError::param(
            "filters",
            "not supported by network flows",
        ));
    }
    Ok(FlowsQuery {
        scope,
        sites,
        pagination: pagination(params)?,
    })
}

/// `GET /api/v1/search/after`.
pub fn search_after(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<SearchAfterQuery, QueryError> {
    let (_, scope) = scope(site, params, now)?;
    let term = get(params, "term")
        .ok_or_else(|| QueryError::param("term", "missing; give the search term"))?;
    Ok(SearchAfterQuery {
        scope,
        term: normalise_term(term),
        pagination: pagination(params)?,
    })
}

/// Terms are stored trimmed, lower-case, with single spaces; so are the ones asked for.
pub fn normalise_term(term: &str) -> String {
    term.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `GET /api/v1/goals/value`.
pub fn goal_value(
    site: Site,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<GoalValueQuery, QueryError> {
    let (_, scope) = scope(site, params, now)?;
    Ok(GoalValueQuery { scope })
}

/// A funnel as saved (`POST /api/luister/v1/sites/{domain}/funnels`) and as part of a funnel request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelDefinition {
    pub steps: Vec<FunnelStep>,
    #[serde(default = "default_window")]
    pub window_seconds: u32,
    #[serde(default)]
    pub filters: String,
    #[serde(default)]
    pub breakdown: Option<String>,
}

fn default_window() -> u32 {
    3600
}

/// Body of `POST /api/v1/funnels/query`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelRequest {
    pub site_id: String,
    #[serde(default)]
    pub period: Option<String>,
    #[serde(default)]
    pub date: Option<String>,
    pub steps: Vec<FunnelStep>,
    #[serde(default = "default_window")]
    pub window_seconds: u32,
    #[serde(default)]
    pub filters: String,
    #[serde(default)]
    pub breakdown: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub page: Option<u32>,
}

/// Checks a definition: 2 to 8 non-empty steps, a sane window, valid filters and breakdown.
pub fn check_funnel_definition(
    def: &FunnelDefinition,
) -> Result<(Vec<Filter>, Option<Property>), QueryError> {
    if !(2..=MAX_STEPS).contains(&def.steps.len()) {
        return Err(QueryError::param(
            "steps",
            format!("a funnel has 2 to {MAX_STEPS} steps"),
        ));
    }
    for (i, step) in def.steps.iter().enumerate() {
        let (FunnelStep::Page(v) | FunnelStep::Event(v) | FunnelStep::Search(v)) = step;
        if v.trim().is_empty() || v.len() > 2000 {
            return Err(QueryError::param(
                format!("steps[{i}]"),
                "a step needs a page, event or search of 1 to 2000 characters",
            ));
        }
        if matches!(step, FunnelStep::Page(p) if !p.starts_with('/') && !p.starts_with('*')) {
            return Err(QueryError::param(
                format!("steps[{i}].page"),
                "a page starts with / (wildcards * and ** allowed)",
            ));
        }
    }
    if !(1..=MAX_WINDOW_SECONDS).contains(&def.window_seconds) {
        return Err(QueryError::param(
            "window_seconds",
            format!("from 1 to {MAX_WINDOW_SECONDS}"),
        ));
    }
    let filters = parse_filters("filters", &def.filters)?;
    let breakdown = match def
        .breakdown
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        None => None,
        Some(b) => Some(
            Property::parse(b)
                .filter(Property::is_visit)
                .ok_or_else(|| {
                    QueryError::param(
                        "breakdown",
                        format!("{b:?} is not a visit property like visit:source"),
                    )
                })?,
        ),
    };
    Ok((filters, breakdown))
}

/// A funnel over `site` from a definition plus `period`/`date`/`limit`/`page` parameters.
pub fn funnel(
    site: Site,
    def: &FunnelDefinition,
    params: &Params,
    now: DateTime<Utc>,
) -> Result<FunnelQuery, QueryError> {
    let (filters, breakdown) = check_funnel_definition(def)?;
    let mut params = params.clone();
    params.remove("filters");
    let (_, mut scope) = scope(site, &params, now)?;
    scope.filters = filters;
    Ok(FunnelQuery {
        scope,
        steps: def.steps.clone(),
        window_seconds: def.window_seconds,
        breakdown,
        pagination: pagination(&params)?,
    })
}

/// `POST /api/v1/funnels/query`: the request's own period, date and paging.
pub fn funnel_request(
    site: Site,
    req: &FunnelRequest,
    now: DateTime<Utc>,
) -> Result<FunnelQuery, QueryError> {
    let mut params = Params::new();
    let fields = [
        ("period", req.period.clone()),
        ("date", req.date.clone()),
        ("limit", req.limit.map(|n| n.to_string())),
        ("page", req.page.map(|n| n.to_string())),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            params.insert(name.into(), v);
        }
    }
    let def = FunnelDefinition {
        steps: req.steps.clone(),
        window_seconds: req.window_seconds,
        filters: req.filters.clone(),
        breakdown: req.breakdown.clone(),
    };
    funnel(site, &def, &params, now)
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
