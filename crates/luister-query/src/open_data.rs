//! The public export of a site that opted in (`luister sites open-data DOMAIN on`):
//! aggregated figures of one calendar month, with every count that could single out a
//! person left out. The schema is documented in `docs/open-data.md`; its name and
//! version travel in every file (`"schema": "luister-open-data/1"`).
//!
//! Suppression: a row (a page, a search term, a goal) is published only when at least
//! [`MIN_COUNT`] different visitors are behind it; the month's totals only when the
//! month had that many visitors. Counts of rows that are published are exact.

use crate::metric::Metric;
use crate::params::{self, Params};
use crate::query::SearchReport;
use crate::results::Values;
use crate::{QueryEngine, QueryError};
use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use luister_model::Site;
use serde::Serialize;

/// Fewest distinct visitors behind a published figure.
pub const MIN_COUNT: u64 = 10;
/// Most rows per table (pages, search terms), largest first.
pub const MAX_ROWS: usize = 100;
/// How far back the export goes, in months.
pub const MAX_MONTHS_BACK: u32 = 120;
/// Name and version of the format.
pub const SCHEMA: &str = "luister-open-data/1";

/// One calendar month, `2026-11`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Self> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        let first = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)?;
        Some(Self { first })
    }

    /// The month that contains `day`.
    pub fn of(day: NaiveDate) -> Self {
        Self {
            first: day.with_day(1).unwrap_or(day),
        }
    }

    pub fn first(self) -> NaiveDate {
        self.first
    }

    pub fn last(self) -> NaiveDate {
        self.next().first.pred_opt().unwrap_or(self.first)
    }

    fn next(self) -> Self {
        Self::of(self.first + Months::new(1))
    }

    fn back(self, months: u32) -> Self {
        Self::of(self.first - Months::new(months))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

impl From<Month> for String {
    fn from(month: Month) -> Self {
        month.to_string()
    }
}

/// The months that may be published at `now` for a site in `tz`: whole months that have
/// ended, newest first, at most [`MAX_MONTHS_BACK`].
pub fn publishable(tz: Tz, now: DateTime<Utc>) -> Vec<Month> {
    let current = Month::of(now.with_timezone(&tz).date_naive());
    (1..=MAX_MONTHS_BACK).map(|n| current.back(n)).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageRow {
    pub page: String,
    pub visitors: u64,
    pub pageviews: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchRow {
    pub term: String,
    pub visitors: u64,
    pub searches: u64,
    /// Searches of the term that found nothing.
    pub without_results: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalRow {
    pub goal: String,
    /// Visitors who reached the goal.
    pub visitors: u64,
    pub conversions: u64,
}

/// The figures of one site and month, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenDataMonth {
    pub schema: &'static str,
    pub site: String,
    pub month: Month,
    pub timezone: String,
    pub min_count: u64,
    /// `null` when the month had fewer than [`MIN_COUNT`] visitors.
    pub totals: Option<Totals>,
    pub pages: Vec<PageRow>,
    pub search_terms: Vec<SearchRow>,
    pub goals: Vec<GoalRow>,
}

impl OpenDataMonth {
    /// The same figures as one long table: `month,table,item,metric,value`, one value a
    /// line, so each file has the same columns whatever the month holds.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("month,table,item,metric,value\n");
        let mut line = |table: &str, item: &str, metric: &str, value: u64| {
            out.push_str(&format!(
                "{},{table},{},{metric},{value}\n",
                self.month,
                csv_field(item)
            ));
        };
        if let Some(t) = &self.totals {
            line("totals", "", "visitors", t.visitors);
            line("totals", "", "visits", t.visits);
            line("totals", "", "pageviews", t.pageviews);
        }
        for p in &self.pages {
            line("pages", &p.page, "visitors", p.visitors);
            line("pages", &p.page, "pageviews", p.pageviews);
        }
        for s in &self.search_terms {
            line("search_terms", &s.term, "visitors", s.visitors);
            line("search_terms", &s.term, "searches", s.searches);
            line(
                "search_terms",
                &s.term,
                "without_results",
                s.without_results,
            );
        }
        for g in &self.goals {
            line("goals", &g.goal, "visitors", g.visitors);
            line("goals", &g.goal, "conversions", g.conversions);
        }
        out
    }
}

/// RFC 4180 quoting, and a leading `'` before `=`, `+`, `-` or `@` so that a spreadsheet
/// shows a search term as text instead of running it as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The publishable months with at least [`MIN_COUNT`] visitors, newest first (listing a
/// month with fewer would tell that it had some).
pub async fn months_with_data(
    engine: &QueryEngine,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<Vec<Month>, QueryError> {
    let tz: Tz = site
        .timezone
        .parse()
        .map_err(|_| QueryError::param("site_id", "site has an invalid time zone"))?;
    let months = publishable(tz, now);
    let (Some(newest), Some(oldest)) = (months.first(), months.last()) else {
        return Ok(Vec::new());
    };
    let p: Params = [
        ("period", "custom".to_string()),
        ("date", format!("{},{}", oldest.first(), newest.last())),
        ("interval", "month".into()),
        ("metrics", "visitors".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let series = engine
        .timeseries(&params::timeseries(site.clone(), &p, now)?)
        .await?;
    let mut out: Vec<Month> = series
        .results
        .iter()
        .filter(|point| count(&point.values, Metric::Visitors) >= MIN_COUNT)
        .filter_map(|point| Month::parse(point.date.get(..7)?))
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    Ok(out)
}

/// Counts `site`'s figures of `month`, suppressed as the module says.
pub async fn month_figures(
    engine: &QueryEngine,
    site: &Site,
    month: Month,
    now: DateTime<Utc>,
) -> Result<OpenDataMonth, QueryError> {
    let range = |extra: &[(&str, &str)]| -> Params {
        let mut p: Params = [
            ("period".into(), "custom".into()),
            ("date".into(), format!("{},{}", month.first(), month.last())),
        ]
        .into();
        p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        p
    };
    let totals = engine
        .aggregate(&params::aggregate(
            site.clone(),
            &range(&[("metrics", "visitors,visits,pageviews")]),
            now,
        )?)
        .await?;
    let limit = (MAX_ROWS * 10).to_string();
    let pages = engine
        .breakdown(&params::breakdown(
            site.clone(),
            &range(&[
                ("property", "event:page"),
                ("metrics", "visitors,pageviews"),
                ("limit", &limit),
            ]),
            now,
        )?)
        .await?;
    let terms = engine
        .search_terms(&params::search_terms(
            site.clone(),
            &range(&[("limit", &limit)]),
            now,
            SearchReport::Terms,
        )?)
        .await?;
    let goals = engine
        .goal_value(&params::goal_value(site.clone(), &range(&[]), now)?)
        .await?;

    let totals = Totals {
        visitors: count(&totals.values, Metric::Visitors),
        visits: count(&totals.values, Metric::Visits),
        pageviews: count(&totals.values, Metric::Pageviews),
    };
    let mut pages: Vec<PageRow> = pages
        .results
        .iter()
        .map(|r| PageRow {
            page: r.value.clone(),
            visitors: count(&r.values, Metric::Visitors),
            pageviews: count(&r.values, Metric::Pageviews),
        })
        .filter(|r| r.visitors >= MIN_COUNT)
        .collect();
    keep_largest(&mut pages, |r| (r.visitors, &r.page));
    let mut search_terms: Vec<SearchRow> = terms
        .results
        .into_iter()
        .filter(|r| r.visitors >= MIN_COUNT)
        .map(|r| SearchRow {
            term: r.term,
            visitors: r.visitors,
            searches: r.searches,
            without_results: r.zero_results,
        })
        .collect();
    keep_largest(&mut search_terms, |r| (r.visitors, &r.term));
    let goals = goals
        .results
        .into_iter()
        .filter(|g| g.converters >= MIN_COUNT)
        .map(|g| GoalRow {
            goal: g.goal,
            visitors: g.converters,
            conversions: g.conversions,
        })
        .collect();
    Ok(OpenDataMonth {
        schema: SCHEMA,
        site: site.domain.clone(),
        month,
        timezone: site.timezone.clone(),
        min_count: MIN_COUNT,
        totals: (totals.visitors >= MIN_COUNT).then_some(totals),
        pages,
        search_terms,
        goals,
    })
}

/// The [`MAX_ROWS`] rows with the most visitors, most first; ties by name.
fn keep_largest<T>(rows: &mut Vec<T>, key: impl Fn(&T) -> (u64, &String)) {
    rows.sort_by(|a, b| {
        let ((va, na), (vb, nb)) = (key(a), key(b));
        vb.cmp(&va).then(na.cmp(nb))
    });
    rows.truncate(MAX_ROWS);
}

fn count(values: &Values, metric: Metric) -> u64 {
    values.get(metric).and_then(|v| v.as_f64()).unwrap_or(0.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_step() {
        let m = Month::parse("2026-02").unwrap();
        assert_eq!(
            (m.first().to_string(), m.last().to_string()),
            ("2026-02-01".into(), "2026-02-28".into())
        );
        assert_eq!(m.to_string(), "2026-02");
        assert_eq!(m.back(2).to_string(), "2025-12");
        for bad in ["2026-13", "2026-2", "26-02", "2026-02-01", "", "abcd-ef"] {
            assert_eq!(Month::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_ended_months_are_publishable_in_the_sites_time_zone() {
        let tz: Tz = "Europe/Amsterdam".parse().unwrap();
        // 23:30 UTC on 30 November is already 1 December in Amsterdam.
        let now = DateTime::parse_from_rfc3339("2026-11-30T23:30:00Z")
            .unwrap()
            .to_utc();
        let months = publishable(tz, now);
        assert_eq!(months[0].to_string(), "2026-11");
        assert_eq!(months.len() as u32, MAX_MONTHS_BACK);
        let months = publishable(chrono_tz::UTC, now);
        assert_eq!(months[0].to_string(), "2026-10");
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(csv_field("/afval"), "/afval");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("zeg \"hoi\""), "\"zeg \"\"hoi\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-x,y"), "\"'-x,y\"");
    }
}
