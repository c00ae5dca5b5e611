//! Statements of the Stats API: totals per group from single events (`event_stats`, table
//! `events`) or from whole visits (`session_stats`, table `sessions`), plus realtime visitors.
//!
//! Both return [`StatsRow`]s of additive totals; `metric` turns them into rates. Which
//! metric comes from which statement is the engine's choice.

use super::filters::{event_expr, visit_column};
use super::scope::{events_where, sessions_where, started_in_range, visit_values};
use super::{lit, Sql};
use crate::metric::Metric;
use crate::period::Interval;
use crate::property::Property;
use crate::query::{Pagination, Scope};
use luister_store::Goal;
use serde::Deserialize;

/// One group's totals as both statements return them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct StatsRow {
    /// The group: '' for totals, a bucket id as text, or a property value.
    pub key: String,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub events: u64,
    pub bounces: u64,
    pub duration_sum: u64,
}

/// How rows are grouped.
#[derive(Debug, Clone, PartialEq)]
pub enum Grouping {
    Total,
    Bucket(Interval),
    Property(Property),
}

/// Which distinct counts a statement computes, the costly part of it; the others come
/// back as 0. The count that a page of rows is chosen by is always computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Distinct {
    pub visitors: bool,
    /// `uniq(session_id)` of `event_stats`; `session_stats` counts visits with a sum, always.
    pub visits: bool,
}

impl Distinct {
    pub const ALL: Self = Self {
        visitors: true,
        visits: true,
    };
    pub const NONE: Self = Self {
        visitors: false,
        visits: false,
    };

    /// Rows are cut to a page by their order, so it must be computed.
    pub(crate) fn visitors(self, plan: &StatsPlan) -> bool {
        let ordered = matches!(plan.order, Metric::Visitors | Metric::ConversionRate);
        self.visitors || (ordered && plan.page.is_some())
    }

    pub(crate) fn visits(self, plan: &StatsPlan) -> bool {
        self.visits || (plan.order == Metric::Visits && plan.page.is_some())
    }
}

/// Everything a stats statement needs besides the scope.
#[derive(Debug, Clone)]
pub struct StatsPlan<'a> {
    pub scope: &'a Scope,
    /// The site's goals, to resolve `event:goal` filters.
    pub goals: &'a [Goal],
    pub grouping: Grouping,
    /// Rows are ordered by this metric, descending, then by key.
    pub order: Metric,
    pub page: Option<Pagination>,
    /// Only these groups (e.g. the pages of an already fetched breakdown page).
    pub keys: Option<Vec<String>>,
    pub distinct: Distinct,
}

/// Totals over single events (`events`): every event in the range matching the event
/// filters, in visits matching the visit filters. `visits` counts the visits those events
/// belong to; `bounces` and `duration_sum` are 0 (they are visit-level).
///
/// Grouped by a visit property, each event takes its visit's value: visitor-constant
/// properties are on every event, others are looked up in `sessions`.
pub fn event_stats(plan: &StatsPlan) -> Sql {
    let mut join = None;
    let key = match &plan.grouping {
        Grouping::Total => lit("''"),
        Grouping::Bucket(interval) => bucket_key("timestamp", *interval, plan.scope),
        Grouping::Property(p) if p.needs_sessions() => {
            join = Some(visit_values(
                plan.scope,
                visit_column(p),
                plan.keys.as_deref(),
            ));
            lit("dim")
        }
        Grouping::Property(p) => event_expr(p),
    };
    let distinct = plan.distinct;
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&key)
        .push(" AS key, ")
        .push(if distinct.visitors(plan) {
            "uniq(visitor_id)"
        } else {
            "toUInt64(0)"
        })
        .push(" AS visitors, ")
        .push(if distinct.visits(plan) {
            "uniq(session_id)"
        } else {
            "toUInt64(0)"
        })
        .push(
            " AS visits, countIf(name = 'pageview') AS pageviews, count() AS events, \
             toUInt64(0) AS bounces, toUInt64(0) AS duration_sum FROM events",
        );
    if let Some(values) = &join {
        sql.push(" ALL INNER JOIN (")
            .append(values)
            .push(") AS v USING session_id");
    }
    sql.push(" WHERE ")
        .append(&events_where(plan.scope, plan.goals));
    group_order_limit(&mut sql, plan, false);
    sql
}

/// Distinct visitors of the `sessions` rows selected, exact before merges. `uniq` over the
/// rows with `sign = 1` would also count a visitor whose only row in a group is an earlier,
/// cancelled state (a visit whose exit page has changed since, say). So: visitors without
/// any cancel row (every row of theirs is a latest state) by `uniq`; the others (few, once
/// merged) by adding up their signs per visitor (`sumMap`) and counting those with a visit
/// left. Collected as two plain arrays: building an array per row costs more than the rest.
const SESSION_VISITORS: &str = "uniqIf(visitor_id, sign = 1 AND NOT (visitor_id IN (\
    SELECT visitor_id FROM sessions WHERE ";
const SESSION_VISITORS_END: &str = " AND sign = -1) AS cancelled)) + \
    arrayCount(x -> x > 0, tupleElement(arrayReduce('sumMap', [groupArrayIf(visitor_id, cancelled)], \
    [groupArrayIf(sign, cancelled)]), 2))";

/// Totals over whole visits (`sessions`): visits that started in the range, match the
/// visit filters and, with event filters, have a matching event in the range. Their
/// `pageviews` and `events` are the whole visits'. Every sum is weighted by `sign`; sums
/// are named apart from the columns they add up (`visit_pageviews`), as ClickHouse would
/// otherwise read the alias inside the other sums.
///
/// Groups by the start bucket or a visit property (its `sessions` column). A visit has no
/// single value of an event property: grouped by one, all visits fall under ''.
pub fn session_stats(plan: &StatsPlan) -> Sql {
    let key = match &plan.grouping {
        Grouping::Total => lit("''"),
        Grouping::Bucket(interval) => bucket_key("started_at", *interval, plan.scope),
        Grouping::Property(p) if p.is_visit() => lit(visit_column(p)),
        Grouping::Property(_) => lit("''"),
    };
    let mut sql = Sql::new();
    sql.push("SELECT ").append(&key).push(" AS key, ");
    if plan.distinct.visitors(plan) {
        sql.push(SESSION_VISITORS)
            .append(&started_in_range(plan.scope))
            .push(SESSION_VISITORS_END);
    } else {
        sql.push("toUInt64(0)");
    }
    sql.push(
        " AS visitors, toUInt64(greatest(sum(sign), 0)) AS visits, \
             toUInt64(greatest(sum(sign * pageviews), 0)) AS visit_pageviews, \
             toUInt64(greatest(sum(sign * events), 0)) AS visit_events, \
             toUInt64(greatest(sum(sign * (pageviews = 1 AND interactions = 0)), 0)) AS bounces, \
             toUInt64(greatest(sum(sign * (ended_at - started_at)), 0)) AS duration_sum \
             FROM sessions WHERE ",
    )
    .append(&sessions_where(plan.scope, plan.goals));
    group_order_limit(&mut sql, plan, true);
    sql
}

/// The bucket of `column` in the site's time zone, as text of a number (see `period::Bucket::id`).
pub(crate) fn bucket_key(column: &'static str, interval: Interval, scope: &Scope) -> Sql {
    let (open, close) = match interval {
        Interval::Hour => ("toString(toUInt32(toStartOfHour(", ")))"),
        Interval::Date => ("toString(toUInt32(toDate(", ")))"),
        Interval::Week => ("toString(toUInt32(toMonday(toDate(", "))))"),
        Interval::Month => ("toString(toUInt32(toStartOfMonth(toDate(", "))))"),
    };
    let mut sql = Sql::new();
    sql.push(open)
        .push(column)
        .push(", ")
        .bind(scope.tz.name())
        .push(close);
    sql
}

pub(crate) fn order_expr(metric: Metric, signed: bool) -> &'static str {
    match (metric, signed) {
        (Metric::Visits, _) => "visits",
        (Metric::Pageviews, false) => "pageviews",
        (Metric::Pageviews, true) => "visit_pageviews",
        (Metric::Events, false) => "events",
        (Metric::Events, true) => "visit_events",
        (Metric::BounceRate, _) => "bounces / visits",
        (Metric::VisitDuration, _) => "duration_sum / visits",
        (Metric::ViewsPerVisit, false) => "pageviews / visits",
        (Metric::ViewsPerVisit, true) => "visit_pageviews / visits",
        // Engagement metrics come from their own statement; pages are chosen by visitors.
        (
            Metric::Visitors | Metric::ConversionRate | Metric::ScrollDepth | Metric::TimeOnPage,
            _,
        ) => "visitors",
    }
}

/// GROUP BY, HAVING (visits left after cancellations; the chosen keys), ORDER BY, LIMIT.
fn group_order_limit(sql: &mut Sql, plan: &StatsPlan, signed: bool) {
    if plan.grouping == Grouping::Total {
        return;
    }
    sql.push(" GROUP BY key");
    let mut having = Vec::new();
    if signed {
        having.push(lit("visits > 0"));
    }
    if let Some(keys) = &plan.keys {
        let mut h = Sql::new();
        h.push("has(").bind(keys.clone()).push(", key)");
        having.push(h);
    }
    if !having.is_empty() {
        sql.push(" HAVING ").join(&having, " AND ");
    }
    sql.push(" ORDER BY ")
        .push(order_expr(plan.order, signed))
        .push(" DESC, key ASC");
    if let Some(page) = plan.page {
        sql.push(" LIMIT ")
            .bind(u64::from(page.limit))
            .push(" OFFSET ")
            .bind(page.offset());
    }
}

/// What a realtime breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealtimeDimension {
    /// Pages viewed in the last five minutes.
    Page,
    /// Sources of the visits active in the last five minutes.
    Source,
}

/// Visitors per page or source over the five minutes up to `now`, most first.
pub fn realtime_breakdown(
    site_id: &str,
    now: u32,
    dimension: RealtimeDimension,
    limit: u32,
) -> Sql {
    let mut sql = Sql::new();
    match dimension {
        RealtimeDimension::Page => sql.push("SELECT pathname AS value, toUInt64(uniq(visitor_id)) AS visitors FROM events WHERE site_id = "),
        RealtimeDimension::Source => sql.push("SELECT referrer_source AS value, toUInt64(uniq(visitor_id)) AS visitors FROM events WHERE site_id = "),
    };
    sql.bind(site_id);
    super::scope::dates_of(
        &mut sql,
        "timestamp",
        now.saturating_sub(300),
        now.saturating_add(1),
    );
    sql.push(" AND timestamp > toDateTime(")
        .bind(now.saturating_sub(300))
        .push(") AND timestamp <= toDateTime(")
        .bind(now)
        .push(")");
    match dimension {
        RealtimeDimension::Page => sql.push(" AND name = 'pageview'"),
        RealtimeDimension::Source => sql.push(" AND name != 'engagement'"),
    };
    sql.push(" GROUP BY value ORDER BY visitors DESC, value LIMIT ")
        .bind(limit);
    sql
}

/// Distinct visitors with an event in the five minutes up to `now` (Unix seconds).
pub fn realtime_visitors(site_id: &str, now: u32) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT uniq(visitor_id) FROM events WHERE site_id = ")
        .bind(site_id);
    super::scope::dates_of(
        &mut sql,
        "timestamp",
        now.saturating_sub(300),
        now.saturating_add(1),
    );
    sql.push(" AND timestamp > toDateTime(")
        .bind(now.saturating_sub(300))
        .push(") AND timestamp <= toDateTime(")
        .bind(now)
        .push(") AND name != 'engagement'");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::filters::tests::scope;

    fn plan<'a>(scope: &'a Scope, grouping: Grouping) -> StatsPlan<'a> {
        StatsPlan {
            scope,
            goals: &[],
            grouping,
            order: Metric::Visitors,
            page: Some(Pagination { limit: 10, page: 2 }),
            keys: None,
            distinct: Distinct::ALL,
        }
    }

    #[test]
    fn event_stats_golden() {
        let s = scope("event:page==/a;visit:source==Google");
        let sql = event_stats(&plan(&s, Grouping::Property(Property::Page)));
        assert_eq!(
            sql.text(),
            "SELECT pathname AS key, uniq(visitor_id) AS visitors, uniq(session_id) AS visits, \
             countIf(name = 'pageview') AS pageviews, count() AS events, toUInt64(0) AS bounces, \
             toUInt64(0) AS duration_sum FROM events WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' AND (pathname = ?) \
             AND session_id IN (SELECT session_id FROM sessions WHERE site_id = ? AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) \
             AND started_at < toDateTime(?) AND ended_at >= toDateTime(?) AND (referrer_source = ?) \
             GROUP BY session_id HAVING sum(sign) > 0) \
             GROUP BY key ORDER BY visitors DESC, key ASC LIMIT ? OFFSET ?"
        );
        assert!(sql.render().ends_with("LIMIT 10 OFFSET 10"));
    }

    #[test]
    fn event_stats_by_visit_property_take_the_visit_value() {
        let s = scope("");
        let mut p = plan(&s, Grouping::Property(Property::Source));
        p.keys = Some(vec!["Google".into()]);
        p.page = None;
        assert_eq!(
            event_stats(&p).text(),
            "SELECT dim AS key, uniq(visitor_id) AS visitors, uniq(session_id) AS visits, \
             countIf(name = 'pageview') AS pageviews, count() AS events, toUInt64(0) AS bounces, \
             toUInt64(0) AS duration_sum FROM events ALL INNER JOIN (SELECT session_id, referrer_source AS dim \
             FROM sessions WHERE site_id = ? AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) AND started_at < toDateTime(?) \
             AND ended_at >= toDateTime(?) AND has(?, referrer_source) GROUP BY session_id, dim \
             HAVING sum(sign) > 0) AS v USING session_id WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' GROUP BY key HAVING has(?, key) \
             ORDER BY visitors DESC, key ASC"
        );
        // Visitor-constant properties are on every event: no join.
        let country = event_stats(&plan(&s, Grouping::Property(Property::Country)));
        assert!(
            country.text().starts_with("SELECT country_code AS key")
                && !country.text().contains("JOIN"),
            "{}",
            country.text()
        );
    }

    #[test]
    fn session_stats_golden() {
        let s = scope("event:page==/a;visit:exit_page==/b");
        let mut p = plan(&s, Grouping::Property(Property::Source));
        p.order = Metric::BounceRate;
        p.page = None;
        p.keys = Some(vec!["Google".into()]);
        assert_eq!(
            session_stats(&p).text(),
            "SELECT referrer_source AS key, uniqIf(visitor_id, sign = 1 AND NOT (visitor_id IN (\
             SELECT visitor_id FROM sessions WHERE site_id = ? AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) \
             AND started_at < toDateTime(?) AND sign = -1) AS cancelled)) + \
             arrayCount(x -> x > 0, tupleElement(arrayReduce('sumMap', [groupArrayIf(visitor_id, cancelled)], \
             [groupArrayIf(sign, cancelled)]), 2)) AS visitors, toUInt64(greatest(sum(sign), 0)) AS visits, \
             toUInt64(greatest(sum(sign * pageviews), 0)) AS visit_pageviews, \
             toUInt64(greatest(sum(sign * events), 0)) AS visit_events, \
             toUInt64(greatest(sum(sign * (pageviews = 1 AND interactions = 0)), 0)) AS bounces, \
             toUInt64(greatest(sum(sign * (ended_at - started_at)), 0)) AS duration_sum \
             FROM sessions WHERE site_id = ? AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) AND started_at < toDateTime(?) \
             AND (exit_page = ?) AND session_id IN (SELECT session_id FROM events WHERE site_id = ? \
             AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND name != 'engagement' \
             AND (pathname = ?)) GROUP BY key HAVING visits > 0 AND has(?, key) \
             ORDER BY bounces / visits DESC, key ASC"
        );
    }

    #[test]
    fn totals_and_buckets() {
        let s = scope("");
        let total = session_stats(&plan(&s, Grouping::Total)).render();
        assert!(
            total.ends_with(
                "FROM sessions WHERE site_id = 'enschede.nl' AND toDate(started_at) >= toDate('2026-11-01') AND toDate(started_at) <= toDate('2026-11-02') AND started_at >= toDateTime(1793574000) \
                 AND started_at < toDateTime(1793660400)"
            ),
            "{total}"
        );
        let hours = event_stats(&plan(&s, Grouping::Bucket(Interval::Hour))).render();
        assert!(
            hours.starts_with(
                "SELECT toString(toUInt32(toStartOfHour(timestamp, 'Europe/Amsterdam'))) AS key"
            ),
            "{hours}"
        );
        let weeks = session_stats(&plan(&s, Grouping::Bucket(Interval::Week))).render();
        assert!(
            weeks.starts_with(
                "SELECT toString(toUInt32(toMonday(toDate(started_at, 'Europe/Amsterdam')))) AS key"
            ),
            "{weeks}"
        );
        assert!(
            weeks.contains("GROUP BY key HAVING visits > 0 ORDER BY"),
            "{weeks}"
        );
    }

    #[test]
    fn distinct_counts_only_when_asked_or_ordered_by() {
        let s = scope("");
        let mut p = plan(&s, Grouping::Total);
        p.distinct = Distinct::NONE;
        p.page = None;
        let events = event_stats(&p).text().to_string();
        assert!(
            events.starts_with(
                "SELECT '' AS key, toUInt64(0) AS visitors, toUInt64(0) AS visits, \
                 countIf(name = 'pageview') AS pageviews"
            ),
            "{events}"
        );
        let sessions = session_stats(&p).text().to_string();
        assert!(
            sessions.starts_with("SELECT '' AS key, toUInt64(0) AS visits")
                || sessions.starts_with("SELECT '' AS key, toUInt64(0) AS visitors"),
            "{sessions}"
        );
        assert!(!sessions.contains("uniq"), "{sessions}");
        p.grouping = Grouping::Property(Property::Page);
        p.page = Some(Pagination::default());
        let ordered = event_stats(&p).text().to_string();
        assert!(
            ordered.contains("uniq(visitor_id) AS visitors, toUInt64(0) AS visits"),
            "ordered by visitors: {ordered}"
        );
        p.order = Metric::Visits;
        let ordered = event_stats(&p).text().to_string();
        assert!(
            ordered.contains("toUInt64(0) AS visitors, uniq(session_id) AS visits"),
            "ordered by visits: {ordered}"
        );
    }

    #[test]
    fn realtime_breakdown_golden() {
        assert_eq!(
            realtime_breakdown("a.nl", 1000, RealtimeDimension::Page, 10).render(),
            "SELECT pathname AS value, toUInt64(uniq(visitor_id)) AS visitors FROM events WHERE site_id = 'a.nl' AND toDate(timestamp) >= toDate('1970-01-01') \
             AND toDate(timestamp) <= toDate('1970-01-01') AND timestamp > toDateTime(700) AND timestamp <= toDateTime(1000) AND name = 'pageview' \
             GROUP BY value ORDER BY visitors DESC, value LIMIT 10"
        );
    }

    #[test]
    fn realtime_golden() {
        assert_eq!(
            realtime_visitors("a.nl", 1000).render(),
            "SELECT uniq(visitor_id) FROM events WHERE site_id = 'a.nl' AND toDate(timestamp) >= toDate('1970-01-01') AND toDate(timestamp) <= toDate('1970-01-01') AND timestamp > toDateTime(700) \
             AND timestamp <= toDateTime(1000) AND name != 'engagement'"
        );
    }
}
