//! Statements of the Stats API: totals per group from single events (`event_stats`) or
//! from whole visits (`session_stats`), plus realtime visitors.
//!
//! Both return [`StatsRow`]s of additive totals; `metric` turns them into rates.

use super::filters::{
    base_where, event_condition, event_expr, session_in, visit_condition, visit_expr,
};
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
}

/// Totals over single events: every event matching the event filters, in visits matching the visit filters.
pub fn event_stats(plan: &StatsPlan) -> Sql {
    let key = match &plan.grouping {
        Grouping::Total => lit("''"),
        Grouping::Bucket(interval) => bucket_key("timestamp", *interval, plan.scope),
        Grouping::Property(p) => event_expr(p),
    };
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&key)
        .push(
            " AS key, uniq(visitor_id) AS visitors, uniq(session_id) AS visits, \
             countIf(name = 'pageview') AS pageviews, count() AS events, \
             toUInt64(0) AS bounces, toUInt64(0) AS duration_sum FROM events WHERE ",
        )
        .append(&base_where(plan.scope));
    let event = event_condition(plan.scope, plan.goals);
    if let Some(e) = &event {
        sql.push(" AND ").append(e);
    }
    if let Some(inside) = session_in(plan.scope, None, visit_condition(plan.scope).as_ref()) {
        sql.push(" AND ").append(&inside);
    }
    group_order_limit(&mut sql, plan);
    sql
}

/// Totals over whole visits: visits with at least one event matching the event filters
/// and matching the visit filters; `pageviews`/`events` count the matching events only.
pub fn session_stats(plan: &StatsPlan) -> Sql {
    let event = event_condition(plan.scope, plan.goals);
    let mut inner = Sql::new();
    inner.push(
        "SELECT session_id, any(visitor_id) AS vid, min(timestamp) AS started, \
         countIf(name = 'pageview') AS s_pageviews, \
         countIf(name != 'pageview' AND interactive = 1) AS s_interactions, \
         toUInt64(max(timestamp) - min(timestamp)) AS duration, ",
    );
    match &event {
        Some(e) => inner
            .push("countIf(")
            .append(e)
            .push(" AND name = 'pageview') AS m_pageviews, countIf(")
            .append(e)
            .push(") AS m_events"),
        None => inner.push("countIf(name = 'pageview') AS m_pageviews, count() AS m_events"),
    };
    if let Grouping::Property(p) = &plan.grouping {
        inner.push(", ").append(&visit_expr(p)).push(" AS dim");
    }
    inner
        .push(" FROM events WHERE ")
        .append(&base_where(plan.scope))
        .push(" GROUP BY session_id");
    let having: Vec<Sql> = event
        .map(|_| lit("m_events > 0"))
        .into_iter()
        .chain(visit_condition(plan.scope))
        .collect();
    if !having.is_empty() {
        inner.push(" HAVING ").join(&having, " AND ");
    }
    let key = match &plan.grouping {
        Grouping::Total => lit("''"),
        Grouping::Bucket(interval) => bucket_key("started", *interval, plan.scope),
        Grouping::Property(_) => lit("dim"),
    };
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&key)
        .push(
            " AS key, uniq(vid) AS visitors, count() AS visits, sum(m_pageviews) AS pageviews, \
             sum(m_events) AS events, sum(s_pageviews = 1 AND s_interactions = 0) AS bounces, \
             sum(duration) AS duration_sum FROM (",
        )
        .append(&inner)
        .push(")");
    group_order_limit(&mut sql, plan);
    sql
}

/// The bucket of `column` in the site's time zone, as text of a number (see `period::Bucket::id`).
fn bucket_key(column: &'static str, interval: Interval, scope: &Scope) -> Sql {
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

fn order_expr(metric: Metric) -> &'static str {
    match metric {
        Metric::Visits => "visits",
        Metric::Pageviews => "pageviews",
        Metric::Events => "events",
        Metric::BounceRate => "bounces / visits",
        Metric::VisitDuration => "duration_sum / visits",
        Metric::ViewsPerVisit => "pageviews / visits",
        Metric::Visitors | Metric::ConversionRate => "visitors",
    }
}

fn group_order_limit(sql: &mut Sql, plan: &StatsPlan) {
    if plan.grouping == Grouping::Total {
        return;
    }
    sql.push(" GROUP BY key");
    if let Some(keys) = &plan.keys {
        sql.push(" HAVING has(").bind(keys.clone()).push(", key)");
    }
    sql.push(" ORDER BY ")
        .push(order_expr(plan.order))
        .push(" DESC, key ASC");
    if let Some(page) = plan.page {
        sql.push(" LIMIT ")
            .bind(u64::from(page.limit))
            .push(" OFFSET ")
            .bind(page.offset());
    }
}

/// Distinct visitors with an event in the five minutes up to `now` (Unix seconds).
pub fn realtime_visitors(site_id: &str, now: u32) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT uniq(visitor_id) FROM events WHERE site_id = ")
        .bind(site_id)
        .push(" AND timestamp > toDateTime(")
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
             toUInt64(0) AS duration_sum FROM events WHERE site_id = ? AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' AND (pathname = ?) \
             AND session_id IN (SELECT session_id FROM events WHERE site_id = ? AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' GROUP BY session_id \
             HAVING (argMin(referrer_source, timestamp) = ?)) \
             GROUP BY key ORDER BY visitors DESC, key ASC LIMIT ? OFFSET ?"
        );
        assert!(sql.render().ends_with("LIMIT 10 OFFSET 10"));
    }

    #[test]
    fn session_stats_golden() {
        let s = scope("event:page==/a");
        let mut p = plan(&s, Grouping::Property(Property::Source));
        p.order = Metric::BounceRate;
        p.page = None;
        p.keys = Some(vec!["Google".into()]);
        assert_eq!(
            session_stats(&p).text(),
            "SELECT dim AS key, uniq(vid) AS visitors, count() AS visits, sum(m_pageviews) AS pageviews, \
             sum(m_events) AS events, sum(s_pageviews = 1 AND s_interactions = 0) AS bounces, \
             sum(duration) AS duration_sum FROM (SELECT session_id, any(visitor_id) AS vid, \
             min(timestamp) AS started, countIf(name = 'pageview') AS s_pageviews, \
             countIf(name != 'pageview' AND interactive = 1) AS s_interactions, \
             toUInt64(max(timestamp) - min(timestamp)) AS duration, \
             countIf((pathname = ?) AND name = 'pageview') AS m_pageviews, countIf((pathname = ?)) AS m_events, \
             argMin(referrer_source, timestamp) AS dim FROM events WHERE site_id = ? \
             AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND name != 'engagement' \
             GROUP BY session_id HAVING m_events > 0) GROUP BY key HAVING has(?, key) \
             ORDER BY bounces / visits DESC, key ASC"
        );
    }

    #[test]
    fn totals_and_buckets() {
        let s = scope("");
        let total = session_stats(&plan(&s, Grouping::Total)).text().to_string();
        assert!(total.ends_with("GROUP BY session_id)"), "{total}");
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
                "SELECT toString(toUInt32(toMonday(toDate(started, 'Europe/Amsterdam')))) AS key"
            ),
            "{weeks}"
        );
    }

    #[test]
    fn realtime_golden() {
        assert_eq!(
            realtime_visitors("a.nl", 1000).render(),
            "SELECT uniq(visitor_id) FROM events WHERE site_id = 'a.nl' AND timestamp > toDateTime(700) \
             AND timestamp <= toDateTime(1000) AND name != 'engagement'"
        );
    }
}
