//! Unfiltered reports from salt-period rollups plus the raw tables for what they do not
//! cover yet, and the building of those rollups.
//!
//! Sites with daily salts only: their visitor ids are new every UTC day, so the visitors
//! (and visits) of different salt periods never overlap and per-period totals add up
//! exactly. A period is built once it is closed: two days after it began, with none of
//! its visits still open. A query takes, for every built period, the row of the whole
//! period when the range (or bucket) holds all the local days its events fall on, or the
//! row of the one day it holds; the visits started after the last built period come from
//! `events` and `sessions` as before. Anything else (a filter, weekly salts, an hourly
//! timeseries, a period cut into several days) is answered from the raw tables alone.

use super::QueryEngine;
use crate::metric::{Metric, Totals};
use crate::period::{buckets, Interval};
use crate::query::{secs, Pagination, Scope};
use crate::sql::rollup::{self as sql, pair_key, BuildRow, PeriodBuild, PeriodDays, Selection};
use crate::sql::stats::Grouping;
use crate::QueryError;
use chrono::{DateTime, Days, Months, NaiveDate, TimeZone, Utc};
use luister_model::{EventRecord, SaltRotation, Site};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A period's build and the local days of its events (`None`: it had no visits).
#[derive(Debug, Clone)]
struct Built {
    period: NaiveDate,
    build: u64,
    days: Option<(NaiveDate, NaiveDate)>,
}

/// Coverages recently worked out, by site and candidate periods: a dashboard asks for
/// the same range several times at once. Builds and invalidations through this engine
/// (or its clones) empty it; those of other processes are seen after [`COVERAGE_TTL`]
/// (the rows of a replaced build stay, so a stale coverage gives the numbers of before).
#[derive(Clone, Default)]
pub(crate) struct CoverageCache(Arc<Mutex<HashMap<CoverageKey, (Instant, Coverage)>>>);

/// Site, time zone, first and last candidate period.
type CoverageKey = (String, String, NaiveDate, NaiveDate);

const COVERAGE_TTL: Duration = Duration::from_secs(30);

impl CoverageCache {
    fn get(&self, key: &CoverageKey) -> Option<Coverage> {
        let map = self.0.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < COVERAGE_TTL)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, key: CoverageKey, coverage: Coverage) {
        if let Ok(mut map) = self.0.lock() {
            map.retain(|_, (at, _)| at.elapsed() < COVERAGE_TTL);
            map.insert(key, (Instant::now(), coverage));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

/// What the rollups cover of one scope.
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    built: Vec<Built>,
    /// Visits started at or after this (Unix seconds) come from the raw tables.
    pub raw_from: Option<u32>,
}

/// A group of local days a statement adds up into one row: the range, or one bucket.
pub(crate) struct DayGroup {
    first: NaiveDate,
    last: NaiveDate,
    key: String,
}

impl Coverage {
    /// The build of a period, when built.
    fn build_of(&self, period: NaiveDate) -> Option<u64> {
        self.built
            .iter()
            .find(|b| b.period == period)
            .map(|b| b.build)
    }

    /// The UTC days whose funnel answers can be stored: closed, with the day before and
    /// after built too (their events decide who starts on the day and what they reach),
    /// and wholly in the range with the day after. Contiguous; each with the builds of
    /// the three periods its answer depends on.
    pub fn funnel_days(&self, scope: &Scope) -> Vec<(NaiveDate, String)> {
        let (start, end) = scope.bounds();
        let mut day = utc_day(start);
        if day_start(day) < start {
            day = day + Days::new(1);
        }
        let mut days = Vec::new();
        while day_start(day + Days::new(2)) <= end {
            let builds = (
                self.build_of(day - Days::new(1)),
                self.build_of(day),
                self.build_of(day + Days::new(1)),
            );
            match builds {
                (Some(a), Some(b), Some(c)) => days.push((day, format!("{a}-{b}-{c}"))),
                _ if days.is_empty() => {}
                _ => break,
            }
            day = day + Days::new(1);
        }
        days
    }

    /// The rollup rows to read for `groups`; `None` when a period has several but not all
    /// of its days in one group (its visitors cannot be split by day).
    pub fn select(&self, groups: &[DayGroup]) -> Option<Selection> {
        let mut selection = Selection::default();
        for built in &self.built {
            let Some((first, last)) = built.days else {
                continue;
            };
            for g in groups {
                let (lo, hi) = (first.max(g.first), last.min(g.last));
                if lo > hi {
                    continue;
                }
                let day = if first >= g.first && last <= g.last {
                    None
                } else if lo == hi {
                    Some(lo)
                } else {
                    return None;
                };
                selection
                    .pairs
                    .push(pair_key(built.period, day, built.build));
                selection.groups.push(g.key.clone());
                let (lo, hi) = selection.periods.unwrap_or((built.period, built.period));
                selection.periods = Some((lo.min(built.period), hi.max(built.period)));
            }
        }
        Some(selection)
    }
}

/// The day groups of a grouping: the whole range, or each bucket within it.
pub(crate) fn day_groups(scope: &Scope, grouping: &Grouping) -> Option<Vec<DayGroup>> {
    let range = &scope.range;
    let whole = || DayGroup {
        first: range.first,
        last: range.last,
        key: String::new(),
    };
    let interval = match grouping {
        Grouping::Total | Grouping::Property(_) => return Some(vec![whole()]),
        Grouping::Bucket(Interval::Hour) => return None,
        Grouping::Bucket(i) => *i,
    };
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    buckets(range, scope.tz, interval)
        .into_iter()
        .map(|b| {
            let start = epoch.checked_add_days(Days::new(b.id.into()))?;
            let end = match interval {
                Interval::Week => start.checked_add_days(Days::new(6))?,
                Interval::Month => start.checked_add_months(Months::new(1))?.pred_opt()?,
                Interval::Date | Interval::Hour => start,
            };
            Some(DayGroup {
                first: start.max(range.first),
                last: end.min(range.last),
                key: b.id.to_string(),
            })
        })
        .collect()
}

/// Orders finished rows as the raw statements do (`ORDER BY <metric> DESC, key ASC`) and
/// cuts them to a page. Only whole numbers and ratios over visits > 0 occur here.
pub(crate) fn order_and_page(
    rows: &mut Vec<(String, Totals)>,
    order: Metric,
    page: Option<Pagination>,
) {
    let value = |t: &Totals| -> f64 {
        let ratio = |a: u64, b: u64| a as f64 / b as f64;
        match order {
            Metric::Visits => t.visits as f64,
            Metric::Pageviews => t.pageviews as f64,
            Metric::Events => t.events as f64,
            Metric::BounceRate => ratio(t.bounces, t.visits),
            Metric::VisitDuration => ratio(t.duration_sum, t.visits),
            Metric::ViewsPerVisit => ratio(t.pageviews, t.visits),
            Metric::Visitors
            | Metric::ConversionRate
            | Metric::ScrollDepth
            | Metric::TimeOnPage => t.visitors as f64,
        }
    };
    rows.sort_by(|(ka, a), (kb, b)| {
        let (va, vb) = (value(a), value(b));
        // Descending, NaN last (as ClickHouse sorts it), then by key.
        let by_value = match (va.is_nan(), vb.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => vb.total_cmp(&va),
        };
        by_value.then_with(|| ka.cmp(kb))
    });
    cut_to_page(rows, page);
}

/// Keeps the rows of `page` (all without one), as `LIMIT … OFFSET …` would.
pub(crate) fn cut_to_page<T>(rows: &mut Vec<T>, page: Option<Pagination>) {
    if let Some(page) = page {
        let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
        let rest = rows.split_off(offset.min(rows.len()));
        *rows = rest.into_iter().take(page.limit as usize).collect();
    }
}

/// Adds `b`'s additive totals to `a`.
pub(crate) fn add(a: &mut Totals, b: &Totals) {
    a.visitors += b.visitors;
    a.visits += b.visits;
    a.pageviews += b.pageviews;
    a.events += b.events;
    a.bounces += b.bounces;
    a.duration_sum += b.duration_sum;
}

/// What a `build_rollups` run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Periods built now.
    pub built: usize,
    /// Closed periods left for later because a visit of theirs is still open.
    pub waiting: usize,
}

/// A build that counts: not invalidated, and made in the site's current time zone.
fn valid(row: &BuildRow, site: &Site) -> bool {
    row.build != 0 && row.timezone == site.timezone
}

/// Nanoseconds of the system clock, never the same twice in this process.
fn wall_clock_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = u64::try_from(Utc::now().timestamp_nanos_opt().unwrap_or_default()).unwrap_or(0);
    let mut last = LAST.load(SeqCst);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, SeqCst, SeqCst) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

fn utc_day(secs: u32) -> NaiveDate {
    Utc.timestamp_opt(secs.into(), 0)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

fn day_start(day: NaiveDate) -> u32 {
    secs(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

fn from_days(days: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|d| d.checked_add_days(Days::new(days.into())))
        .unwrap_or_default()
}

impl QueryEngine {
    /// What the rollups cover of an unfiltered scope of a site with daily salts.
    pub(crate) async fn coverage(&self, scope: &Scope) -> Result<Option<Coverage>, QueryError> {
        if !self.rollups
            || !scope.filters.is_empty()
            || scope.site.salt_rotation != SaltRotation::Daily
        {
            return Ok(None);
        }
        let (start, end) = scope.bounds();
        // Visits of up to three days before the range may still reach into it.
        let first = utc_day(start) - Days::new(3);
        let last = utc_day(end.saturating_sub(1));
        let key = (
            scope.site.domain.clone(),
            scope.site.timezone.clone(),
            first,
            last,
        );
        let coverage = match self.coverage_cache.get(&key) {
            Some(c) => c,
            None => {
                let c = self.read_coverage(&scope.site, first, last, end).await?;
                self.coverage_cache.put(key, c.clone());
                c
            }
        };
        Ok(Some(coverage).filter(|c| !c.built.is_empty()))
    }

    /// Works out the coverage of the periods `first` to `last` (`end`: the range's end).
    async fn read_coverage(
        &self,
        site: &Site,
        first: NaiveDate,
        last: NaiveDate,
        end: u32,
    ) -> Result<Coverage, QueryError> {
        let site_id = site.domain.as_str();
        let (earliest, recorded): (u16, u64) = sql::earliest_build(site_id)
            .to_query(self.store.client())
            .fetch_one()
            .await?;
        if recorded == 0 {
            return Ok(Coverage {
                built: Vec::new(),
                raw_from: None,
            });
        }
        let first = first.max(from_days(earliest));
        let rows: Vec<BuildRow> = self.fetch(&sql::builds(site_id, first, last)).await?;
        let by_period: HashMap<u16, &BuildRow> = rows.iter().map(|r| (r.period, r)).collect();
        let mut built = Vec::new();
        let mut raw_from = None;
        let mut day = first;
        while day <= last {
            let id = u16::try_from((day - from_days(0)).num_days()).unwrap_or(u16::MAX);
            match by_period.get(&id).filter(|r| valid(r, site)) {
                Some(r) => built.push(Built {
                    period: day,
                    build: r.build,
                    days: (r.visits > 0).then(|| (from_days(r.first_day), from_days(r.last_day))),
                }),
                None => {
                    raw_from = Some(day_start(day)).filter(|from| *from < end);
                    break;
                }
            }
            day = day + Days::new(1);
        }
        Ok(Coverage { built, raw_from })
    }

    /// Builds the rollups of every closed period of `site` not built yet (or invalidated).
    pub async fn build_rollups(
        &self,
        site: &Site,
        now: DateTime<Utc>,
    ) -> Result<RollupReport, QueryError> {
        self.coverage_cache.clear();
        let mut report = RollupReport::default();
        if site.salt_rotation != SaltRotation::Daily {
            return Ok(report);
        }
        let mut earliest = crate::sql::Sql::new();
        earliest
            .push("SELECT toUInt32(min(started_at)), count() FROM sessions WHERE site_id = ")
            .bind(site.domain.as_str());
        let (min_start, visits): (u32, u64) =
            earliest.to_query(self.store.client()).fetch_one().await?;
        if visits == 0 {
            return Ok(report);
        }
        let now_secs = secs(now);
        let first = utc_day(min_start) - Days::new(3);
        let last = utc_day(now_secs) - Days::new(2);
        if first > last {
            return Ok(report);
        }
        let done: Vec<BuildRow> = self.fetch(&sql::builds(&site.domain, first, last)).await?;
        let mut day = first;
        while day <= last {
            let id = u16::try_from((day - from_days(0)).num_days()).unwrap_or(u16::MAX);
            if !done.iter().any(|r| r.period == id && valid(r, site)) {
                if self.build_period(site, day, now).await? {
                    report.built += 1;
                    self.coverage_cache.clear();
                } else {
                    report.waiting += 1;
                }
            }
            day = day + Days::new(1);
        }
        Ok(report)
    }

    /// Builds one period; false when one of its visits is still open.
    async fn build_period(
        &self,
        site: &Site,
        period: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<bool, QueryError> {
        let start = day_start(period);
        let now_secs = secs(now);
        let visits: Vec<sql::PeriodVisits> = self
            .fetch(&sql::period_visits(
                &site.domain,
                start,
                now_secs.saturating_sub(1800),
            ))
            .await?;
        let visits = visits.into_iter().next().unwrap_or(sql::PeriodVisits {
            visits: 0,
            open: 0,
            last_end: 0,
        });
        if visits.open > 0 {
            return Ok(false);
        }
        // Versions order builds and invalidations as they happen, whatever `now` says.
        let version = wall_clock_version();
        let build = PeriodBuild {
            site_id: &site.domain,
            tz: &site.timezone,
            period,
            start,
            build: version,
            last_event: visits.last_end.max(start),
        };
        let mut days = (from_days(0), from_days(0));
        if visits.visits > 0 {
            for statement in [
                sql::build_visits(&build),
                sql::build_events(&build),
                sql::build_searches(&build),
            ] {
                statement.to_query(self.store.client()).execute().await?;
            }
            let found: Vec<PeriodDays> = self.fetch(&sql::period_days(&build)).await?;
            if let Some(d) = found.first() {
                days = (from_days(d.first_day), from_days(d.last_day));
            }
        }
        sql::record_build(&build, visits.visits, days, version)
            .to_query(self.store.client())
            .execute()
            .await?;
        Ok(true)
    }

    /// Marks for building again the salt periods that `events`, just stored, may have
    /// changed: per site, from the day before its first event (a visit may have started
    /// then) to the day of its last.
    pub async fn invalidate_rollups_for<'a>(
        &self,
        events: impl IntoIterator<Item = &'a EventRecord>,
    ) -> Result<(), QueryError> {
        let mut spans: HashMap<&str, (u32, u32)> = HashMap::new();
        for e in events {
            let span = spans
                .entry(e.site_id.as_str())
                .or_insert((e.timestamp, e.timestamp));
            *span = (span.0.min(e.timestamp), span.1.max(e.timestamp));
        }
        for (site, (first, last)) in spans {
            let from = utc_day(first) - Days::new(1);
            self.invalidate_rollups(site, from, utc_day(last)).await?;
        }
        Ok(())
    }

    /// Forgets the builds of the periods from `first` to `last` (UTC days), e.g. after
    /// events of those days were imported; the next `build_rollups` builds them again.
    pub async fn invalidate_rollups(
        &self,
        site_id: &str,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<(), QueryError> {
        self.coverage_cache.clear();
        if first > last {
            return Ok(());
        }
        let version = wall_clock_version();
        sql::invalidate(site_id, first, last, version)
            .to_query(self.store.client())
            .execute()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn coverage(periods: &[(&str, &str, &str)]) -> Coverage {
        Coverage {
            built: periods
                .iter()
                .enumerate()
                .map(|(i, (p, first, last))| Built {
                    period: d(p),
                    build: i as u64 + 1,
                    days: Some((d(first), d(last))),
                })
                .collect(),
            raw_from: None,
        }
    }

    fn group(first: &str, last: &str, key: &str) -> DayGroup {
        DayGroup {
            first: d(first),
            last: d(last),
            key: key.into(),
        }
    }

    #[test]
    fn whole_periods_inside_single_days_at_the_edges() {
        // UTC day 1 Nov spans local 1 and 2 Nov (Amsterdam); and so on.
        let c = coverage(&[
            ("2026-10-31", "2026-10-31", "2026-11-01"),
            ("2026-11-01", "2026-11-01", "2026-11-02"),
            ("2026-11-02", "2026-11-02", "2026-11-03"),
        ]);
        let s = c.select(&[group("2026-11-01", "2026-11-02", "")]).unwrap();
        assert_eq!(
            s.pairs,
            vec![
                pair_key(d("2026-10-31"), Some(d("2026-11-01")), 1),
                pair_key(d("2026-11-01"), None, 2),
                pair_key(d("2026-11-02"), Some(d("2026-11-02")), 3),
            ]
        );
        assert_eq!(s.pairs[1], "20758 0 2");
        // Per day: every period gives one day's row to each of its two days.
        let days = c
            .select(&[
                group("2026-11-01", "2026-11-01", "a"),
                group("2026-11-02", "2026-11-02", "b"),
            ])
            .unwrap();
        assert_eq!(days.pairs.len(), 4);
        assert_eq!(days.groups, vec!["a", "a", "b", "b"]);
    }

    #[test]
    fn a_period_cut_into_several_days_is_not_taken() {
        // A visit went on for two more days: three local days, a range holding two.
        let c = coverage(&[("2026-11-01", "2026-11-01", "2026-11-03")]);
        assert!(c.select(&[group("2026-11-02", "2026-11-05", "")]).is_none());
        assert!(c.select(&[group("2026-11-01", "2026-11-05", "")]).is_some());
    }

    #[test]
    fn ordered_as_sql_orders() {
        let t = |visitors: u64, visits: u64, bounces: u64| Totals {
            visitors,
            visits,
            bounces,
            ..Totals::default()
        };
        let mut rows = vec![
            ("b".to_string(), t(3, 4, 1)),
            ("a".to_string(), t(3, 2, 2)),
            ("c".to_string(), t(5, 1, 0)),
        ];
        order_and_page(
            &mut rows,
            Metric::Visitors,
            Some(Pagination { limit: 2, page: 1 }),
        );
        assert_eq!(
            rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["c", "a"]
        );
        let mut rows = vec![("b".to_string(), t(3, 4, 1)), ("a".to_string(), t(3, 2, 2))];
        order_and_page(&mut rows, Metric::BounceRate, None);
        assert_eq!(rows[0].0, "a");
    }
}
