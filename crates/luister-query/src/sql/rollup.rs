//! Salt-period rollups: statements that build `period_rollup` rows for one closed salt
//! period, and that read them back for a query.
//!
//! A visitor id is a hash under the salt of the UTC day on which the visit started (a
//! visit going on past midnight keeps it), so the visitors of different days are different
//! ids: totals per salt period add up to totals over many periods exactly, distinct
//! visitors and visits included. Each period gets rows per local day of the site (`day`)
//! and one for the whole period (`day` = 1970-01-01): a range or bucket that holds all of a
//! period's days takes the whole-period row, one that holds just one of them that day's
//! row (see `engine::rollup`). Rows hold what the raw statements would compute over just
//! those visits' events (`stats::event_stats`, `stats::session_stats`, `search::terms`).

use super::filters::visit_column;
use super::scope::dates_of;
use super::stats::{Grouping, StatsPlan};
use super::{lit, Sql};
use crate::property::Property;
use chrono::NaiveDate;
use serde::Deserialize;
use std::sync::OnceLock;

/// The `dimension` of the rows a stats plan reads, when rollups hold it.
pub fn stats_dimension(plan: &StatsPlan, from_sessions: bool) -> Option<&'static str> {
    match (&plan.grouping, from_sessions) {
        (Grouping::Bucket(crate::period::Interval::Hour), _) => None,
        (Grouping::Total | Grouping::Bucket(_), false) => Some("events"),
        (Grouping::Total | Grouping::Bucket(_), true) => Some("visits"),
        (Grouping::Property(Property::Page), false) => Some("events:pathname"),
        (Grouping::Property(p), true) if p.is_visit() => VISIT_DIMENSIONS
            .iter()
            .find(|(column, _)| *column == visit_column(p))
            .map(|(_, dimension)| *dimension),
        (Grouping::Property(_), _) => None,
    }
}

/// `sessions` column and dimension name of every visit property.
const VISIT_DIMENSIONS: &[(&str, &str)] = &[
    ("entry_page", "visits:entry_page"),
    ("exit_page", "visits:exit_page"),
    ("referrer_source", "visits:referrer_source"),
    ("referrer", "visits:referrer"),
    ("channel", "visits:channel"),
    ("utm_source", "visits:utm_source"),
    ("utm_medium", "visits:utm_medium"),
    ("utm_campaign", "visits:utm_campaign"),
    ("utm_content", "visits:utm_content"),
    ("utm_term", "visits:utm_term"),
    ("device", "visits:device"),
    ("browser", "visits:browser"),
    ("browser_version", "visits:browser_version"),
    ("os", "visits:os"),
    ("os_version", "visits:os_version"),
    ("country_code", "visits:country_code"),
    ("region", "visits:region"),
    ("city", "visits:city"),
];

/// Which rows a query reads: `period day build` (see [`pair_key`]) and the group each
/// counts towards (a bucket id; ignored for totals and properties).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub pairs: Vec<String>,
    pub groups: Vec<String>,
    /// First and last period of the pairs (lets ClickHouse skip the others by key).
    pub periods: Option<(NaiveDate, NaiveDate)>,
}

/// How a row's period, day (days since 1970-01-01; 0 for the whole period) and build
/// are written in [`Selection::pairs`]. Numbers, not dates: ClickHouse 18 writes the
/// zero date as `0000-00-00`, current releases as `1970-01-01`.
pub fn pair_key(period: NaiveDate, day: Option<NaiveDate>, build: u64) -> String {
    let days = |d: NaiveDate| crate::period::days_since_epoch(d);
    format!("{} {} {build}", days(period), day.map_or(0, days))
}

const PAIR: &str =
    "concat(toString(toUInt16(period)), ' ', toString(toUInt16(day)), ' ', toString(build))";

/// Totals of the selected rows of `dimension`, grouped as the plan groups, as
/// `stats::StatsRow`s.
pub fn rollup_stats(plan: &StatsPlan, dimension: &'static str, selection: &Selection) -> Sql {
    let key = match &plan.grouping {
        Grouping::Total => lit("''"),
        Grouping::Bucket(_) => {
            let mut k = Sql::new();
            k.push("transform(")
                .push(PAIR)
                .push(", ")
                .bind(selection.pairs.clone())
                .push(", ")
                .bind(selection.groups.clone())
                .push(", '')");
            k
        }
        Grouping::Property(_) => lit("value"),
    };
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&key)
        .push(
            " AS key, sum(visitors), sum(visits), sum(pageviews), sum(events), sum(bounces), \
             sum(duration_sum) FROM period_rollup WHERE ",
        )
        .append(&selected(
            plan.scope.site.domain.as_str(),
            dimension,
            selection,
        ));
    if plan.grouping != Grouping::Total {
        sql.push(" GROUP BY key");
    }
    sql
}

/// Site search totals per term of the selected rows, as `search::TermRow`s.
pub fn rollup_terms(site_id: &str, selection: &Selection) -> Sql {
    let mut sql = Sql::new();
    sql.push(
        "SELECT value AS term, sum(searches), sum(visitors), sum(zero_results), sum(exits), \
         sum(refinements) FROM period_rollup WHERE ",
    )
    .append(&selected(site_id, "search", selection))
    .push(" GROUP BY term");
    sql
}

fn selected(site_id: &str, dimension: &'static str, selection: &Selection) -> Sql {
    let mut sql = Sql::new();
    sql.push("site_id = ")
        .bind(site_id)
        .push(" AND dimension = ")
        .bind(dimension);
    if let Some((first, last)) = selection.periods {
        sql.push(" AND period >= toDate(")
            .bind(first.to_string())
            .push(") AND period <= toDate(")
            .bind(last.to_string())
            .push(")");
    }
    sql.push(" AND has(")
        .bind(selection.pairs.clone())
        .push(", ")
        .push(PAIR)
        .push(")");
    sql
}

/// The valid build of each period in `[first, last]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct BuildRow {
    /// Days since 1970-01-01.
    pub period: u16,
    pub build: u64,
    pub visits: u64,
    pub first_day: u16,
    pub last_day: u16,
    /// The site's time zone when it was built.
    pub timezone: String,
}

pub fn builds(site_id: &str, first: NaiveDate, last: NaiveDate) -> Sql {
    let mut sql = Sql::new();
    sql.push(
        "SELECT toUInt16(period), argMax(build, version), argMax(visits, version), \
         toUInt16(argMax(first_day, version)), toUInt16(argMax(last_day, version)), \
         argMax(timezone, version) FROM rollup_builds WHERE site_id = ",
    )
    .bind(site_id)
    .push(" AND period >= toDate(")
    .bind(first.to_string())
    .push(") AND period <= toDate(")
    .bind(last.to_string())
    .push(") GROUP BY period ORDER BY period");
    sql
}

/// The first period with a build row of the site (built or not): before it the site had
/// no visits (the first build starts three days before the first visit, and an import
/// into earlier days records those days as not built).
pub fn earliest_build(site_id: &str) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT toUInt16(min(period)), count() FROM rollup_builds WHERE site_id = ")
        .bind(site_id);
    sql
}

/// Marks the periods `[first, last]` as not built (their data changed).
pub fn invalidate(site_id: &str, first: NaiveDate, last: NaiveDate, version: u64) -> Sql {
    let mut sql = Sql::new();
    sql.push(
        "INSERT INTO rollup_builds (site_id, period, build, visits, first_day, last_day, timezone, \
         version) SELECT ",
    )
    .bind(site_id)
    .push(", toDate(")
    .bind(first.to_string())
    .push(") + number, 0, 0, toDate(0), toDate(0), '', ")
    .bind(version)
    .push(" FROM system.numbers LIMIT ")
    .bind(u64::try_from((last - first).num_days() + 1).unwrap_or(0));
    sql
}

/// One salt period of one site to build: the UTC day `[start, start + 1 day)` in seconds,
/// the site's time zone, and the build id its rows get.
#[derive(Debug, Clone)]
pub struct PeriodBuild<'a> {
    pub site_id: &'a str,
    pub tz: &'a str,
    pub period: NaiveDate,
    pub start: u32,
    pub build: u64,
    /// No event of the period's visits is later than this (Unix seconds).
    pub last_event: u32,
}

/// Visits of the period: how many, how many still open at `open_after`, when the last ended.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct PeriodVisits {
    pub visits: u64,
    pub open: u64,
    pub last_end: u32,
}

pub fn period_visits(site_id: &str, start: u32, open_after: u32) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT count(), countIf(ended_at >= toDateTime(")
        .bind(open_after)
        .push(")), toUInt32(max(ended_at)) FROM sessions FINAL WHERE ")
        .append(&started_in(site_id, start))
        .push(" AND sign = 1");
    sql
}

fn started_in(site_id: &str, start: u32) -> Sql {
    let mut sql = Sql::new();
    sql.push("site_id = ").bind(site_id);
    dates_of(&mut sql, "started_at", start, start.saturating_add(86_400));
    sql.push(" AND started_at >= toDateTime(")
        .bind(start)
        .push(") AND started_at < toDateTime(")
        .bind(start.saturating_add(86_400))
        .push(")");
    sql
}

/// Events (engagement aside) of the period's visits.
fn period_events(b: &PeriodBuild) -> Sql {
    let mut sql = Sql::new();
    sql.push("site_id = ").bind(b.site_id);
    dates_of(
        &mut sql,
        "timestamp",
        b.start,
        b.last_event.saturating_add(1),
    );
    sql.push(" AND timestamp >= toDateTime(")
        .bind(b.start)
        .push(") AND timestamp <= toDateTime(")
        .bind(b.last_event)
        .push(
            ") AND name != 'engagement' AND session_id IN (SELECT session_id FROM sessions WHERE ",
        )
        .append(&started_in(b.site_id, b.start))
        .push(")");
    sql
}

/// First and last local day of the period's events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct PeriodDays {
    pub first_day: u16,
    pub last_day: u16,
}

pub fn period_days(b: &PeriodBuild) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT toUInt16(min(toDate(timestamp, ")
        .bind(b.tz)
        .push("))), toUInt16(max(toDate(timestamp, ")
        .bind(b.tz)
        .push("))) FROM events WHERE ")
        .append(&period_events(b));
    sql
}

const INSERT: &str = "INSERT INTO period_rollup (site_id, dimension, period, day, value, build, ";

fn head(sql: &mut Sql, b: &PeriodBuild, columns: &'static str) {
    sql.push(INSERT)
        .push(columns)
        .push(") SELECT ")
        .bind(b.site_id)
        .push(", tupleElement(d, 1) AS dimension, toDate(")
        .bind(b.period.to_string())
        .push("), tupleElement(d, 3) AS day, tupleElement(d, 2) AS value, ")
        .bind(b.build)
        .push(", ");
}

/// Visit totals, overall and per visit property, by local day of the visit's start
/// (from the latest state of each visit: the period is closed).
pub fn build_visits(b: &PeriodBuild) -> Sql {
    let mut sql = Sql::new();
    head(
        &mut sql,
        b,
        "visitors, visits, pageviews, events, bounces, duration_sum",
    );
    sql.push(
        "uniqExact(visitor_id), count(), sum(pageviews), sum(events), \
         countIf(pageviews = 1 AND interactions = 0), toUInt64(sum(ended_at - started_at)) \
         FROM (SELECT *, toDate(started_at, ",
    )
    .bind(b.tz)
    .push(") AS local_day FROM sessions FINAL WHERE ")
    .append(&started_in(b.site_id, b.start))
    .push(" AND sign = 1) ARRAY JOIN ")
    .push(visit_dimension_array())
    .push(" AS d GROUP BY dimension, day, value");
    sql
}

/// `[('visits', '', local_day), ('visits', '', toDate(0)), ('visits:entry_page', …), …]`.
fn visit_dimension_array() -> &'static str {
    static ARRAY: OnceLock<String> = OnceLock::new();
    ARRAY.get_or_init(|| {
        let mut items = vec![
            "('visits', '', local_day)".to_string(),
            "('visits', '', toDate(0))".to_string(),
        ];
        for (column, dimension) in VISIT_DIMENSIONS {
            for day in ["local_day", "toDate(0)"] {
                items.push(format!("('{dimension}', toString({column}), {day})"));
            }
        }
        format!("[{}]", items.join(", "))
    })
}

/// Event totals, overall and per page, by local day of the event.
pub fn build_events(b: &PeriodBuild) -> Sql {
    let mut sql = Sql::new();
    head(&mut sql, b, "visitors, visits, pageviews, events");
    sql.push(
        "uniqExact(visitor_id), uniqExact(session_id), countIf(name = 'pageview'), count() \
         FROM (SELECT visitor_id, session_id, name, pathname, toDate(timestamp, ",
    )
    .bind(b.tz)
    .push(") AS local_day FROM events WHERE ")
    .append(&period_events(b))
    .push(
        ") ARRAY JOIN [('events', '', local_day), ('events', '', toDate(0)), \
         ('events:pathname', toString(pathname), local_day), \
         ('events:pathname', toString(pathname), toDate(0))] AS d GROUP BY dimension, day, value",
    );
    sql
}

/// Site-search totals per term, by local day of the search: per day, a visit's events of
/// that day decide exits and refinements (what a range holding only that day sees); for the
/// whole period, all of them.
pub fn build_searches(b: &PeriodBuild) -> Sql {
    let mut sql = Sql::new();
    sql.push(INSERT)
        .push("visitors, searches, zero_results, exits, refinements) SELECT ")
        .bind(b.site_id)
        .push(", 'search', toDate(")
        .bind(b.period.to_string())
        .push("), day, tupleElement(s, 1) AS value, ")
        .bind(b.build)
        .push(
            ", uniqExact(vid), count(), countIf(tupleElement(s, 3) = 0), \
             countIf(tupleElement(s, 2) >= last_ts), countIf(last_search > tupleElement(s, 2)) \
             FROM (SELECT session_id, day, any(visitor_id) AS vid, max(timestamp) AS last_ts, \
             maxIf(timestamp, search_term != '') AS last_search, \
             groupArrayIf(tuple(search_term, timestamp, search_results), search_term != '') AS list \
             FROM (SELECT session_id, visitor_id, timestamp, search_term, search_results, toDate(timestamp, ",
        )
        .bind(b.tz)
        .push(") AS local_day FROM events WHERE ")
        .append(&period_events(b))
        .push(" AND session_id IN (SELECT session_id FROM events WHERE ")
        .append(&period_events(b))
        .push(
            " AND search_term != '')) ARRAY JOIN [local_day, toDate(0)] AS day \
             GROUP BY session_id, day HAVING length(list) > 0) ARRAY JOIN list AS s \
             GROUP BY day, value",
        );
    sql
}

/// Records a finished build of a period.
pub fn record_build(
    b: &PeriodBuild,
    visits: u64,
    days: (NaiveDate, NaiveDate),
    version: u64,
) -> Sql {
    let mut sql = Sql::new();
    sql.push(
        "INSERT INTO rollup_builds (site_id, period, build, visits, first_day, last_day, timezone, \
         version) SELECT ",
    )
    .bind(b.site_id)
    .push(", toDate(")
    .bind(b.period.to_string())
    .push("), ")
    .bind(b.build)
    .push(", ")
    .bind(visits)
    .push(", toDate(")
    .bind(days.0.to_string())
    .push("), toDate(")
    .bind(days.1.to_string())
    .push("), ")
    .bind(b.tz)
    .push(", ")
    .bind(version);
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use crate::period::Interval;
    use crate::sql::filters::tests::scope;
    use crate::sql::stats::Distinct;

    fn plan(scope: &crate::query::Scope, grouping: Grouping) -> StatsPlan<'_> {
        StatsPlan {
            scope,
            goals: &[],
            grouping,
            order: Metric::Visitors,
            page: None,
            keys: None,
            distinct: Distinct::ALL,
        }
    }

    #[test]
    fn dimensions_of_plans() {
        let s = scope("");
        let of = |g: Grouping, sessions: bool| stats_dimension(&plan(&s, g), sessions);
        assert_eq!(of(Grouping::Total, false), Some("events"));
        assert_eq!(of(Grouping::Bucket(Interval::Date), true), Some("visits"));
        assert_eq!(of(Grouping::Bucket(Interval::Hour), true), None);
        assert_eq!(
            of(Grouping::Property(Property::Page), false),
            Some("events:pathname")
        );
        assert_eq!(of(Grouping::Property(Property::Page), true), None);
        assert_eq!(
            of(Grouping::Property(Property::Country), true),
            Some("visits:country_code")
        );
        assert_eq!(of(Grouping::Property(Property::Source), false), None);
        assert_eq!(of(Grouping::Property(Property::Name), false), None);
    }

    #[test]
    fn reads_only_the_selected_rows() {
        let s = scope("");
        let selection = Selection {
            pairs: vec![pair_key(
                NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
                None,
                7,
            )],
            groups: vec!["20393".into()],
            periods: None,
        };
        assert_eq!(
            rollup_stats(&plan(&s, Grouping::Bucket(Interval::Date)), "visits", &selection).render(),
            "SELECT transform(concat(toString(toUInt16(period)), ' ', toString(toUInt16(day)), ' ', \
             toString(build)), ['20758 0 7'], ['20393'], '') AS key, sum(visitors), sum(visits), \
             sum(pageviews), sum(events), sum(bounces), sum(duration_sum) FROM period_rollup \
             WHERE site_id = 'enschede.nl' AND dimension = 'visits' AND has(['20758 0 7'], \
             concat(toString(toUInt16(period)), ' ', toString(toUInt16(day)), ' ', toString(build))) \
             GROUP BY key"
        );
    }

    #[test]
    fn every_visit_property_is_rolled_up_by_day_and_whole() {
        let array = visit_dimension_array();
        assert_eq!(
            array.matches("local_day)").count(),
            VISIT_DIMENSIONS.len() + 1
        );
        assert!(array.contains("('visits:country_code', toString(country_code), toDate(0))"));
    }
}
