//! Engagement totals per group: what `scroll_depth` and `time_on_page` are computed from.
//!
//! Plausible-compatible `engagement` events (`name = 'engagement'`) report, for the page in
//! `pathname`, the deepest scroll so far (`scroll_depth`, 0–100; 255 on other events) and
//! the milliseconds the page was visible and focused since the last report (`engaged_ms`).
//! They are never pageviews, events or visits: [`super::scope::base_where`] leaves them out
//! of every other statement, and this one selects only them.
//!
//! A *page visit* is one visit on one page. Per page visit: its deepest scroll (of the
//! reports that have one) and its engaged time (all reports added up). Per group: the sum
//! and number of those, which `metric` turns into means.

use super::scope::engagement_where;
use super::stats::{bucket_key, Grouping, StatsPlan};
use super::{filters::event_expr, Sql};
use serde::Deserialize;

/// One group's engagement totals.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct EngagementRow {
    /// The group: '' for totals, a bucket id as text, or a page.
    pub key: String,
    /// Sum of the deepest scroll of each page visit with a scroll depth.
    pub scroll_depth_sum: u64,
    pub scroll_depth_visits: u64,
    /// Engaged milliseconds of all page visits with engagement.
    pub engaged_ms_sum: u64,
    pub engaged_visits: u64,
}

/// Engagement totals of `plan`'s scope, grouped by its grouping: none, the bucket of each
/// report, or an event property (the engine uses `event:page` only; the property's value
/// must be on the engagement row itself). `plan.keys` limits the groups; order and paging
/// do not apply (the rows follow a page already chosen by another statement).
pub fn engagement_stats(plan: &StatsPlan) -> Sql {
    let key = match &plan.grouping {
        Grouping::Total => None,
        Grouping::Bucket(interval) => Some(bucket_key("timestamp", *interval, plan.scope)),
        Grouping::Property(p) => Some(event_expr(p)),
    };
    let mut inner = Sql::new();
    inner.push("SELECT ");
    if let Some(key) = &key {
        inner.append(key).push(" AS key, ");
    }
    inner
        .push(
            "maxIf(scroll_depth, scroll_depth <= 100) AS depth, \
             countIf(scroll_depth <= 100) > 0 AS has_depth, sum(engaged_ms) AS engaged \
             FROM events WHERE ",
        )
        .append(&engagement_where(plan.scope, plan.goals))
        .push(" GROUP BY ")
        .push(if key.is_some() { "key, " } else { "" })
        .push("session_id, pathname");
    let mut sql = Sql::new();
    sql.push(if key.is_some() {
        "SELECT key"
    } else {
        "SELECT '' AS key"
    })
    .push(
        ", toUInt64(sumIf(depth, has_depth)) AS scroll_depth_sum, \
             toUInt64(countIf(has_depth)) AS scroll_depth_visits, \
             toUInt64(sum(engaged)) AS engaged_ms_sum, toUInt64(count()) AS engaged_visits FROM (",
    )
    .append(&inner)
    .push(")");
    if key.is_some() {
        sql.push(" GROUP BY key");
        if let Some(keys) = &plan.keys {
            sql.push(" HAVING has(").bind(keys.clone()).push(", key)");
        }
        sql.push(" ORDER BY key ASC");
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use crate::period::Interval;
    use crate::property::Property;
    use crate::query::Scope;
    use crate::sql::filters::tests::scope;
    use crate::sql::stats::Distinct;

    fn plan(scope: &Scope, grouping: Grouping) -> StatsPlan<'_> {
        StatsPlan {
            scope,
            goals: &[],
            grouping,
            order: Metric::Visitors,
            page: None,
            keys: None,
            distinct: Distinct::NONE,
        }
    }

    #[test]
    fn by_page_golden() {
        let s = scope("visit:source==Google");
        let mut p = plan(&s, Grouping::Property(Property::Page));
        p.keys = Some(vec!["/".into(), "/contact".into()]);
        assert_eq!(
            engagement_stats(&p).text(),
            "SELECT key, toUInt64(sumIf(depth, has_depth)) AS scroll_depth_sum, \
             toUInt64(countIf(has_depth)) AS scroll_depth_visits, \
             toUInt64(sum(engaged)) AS engaged_ms_sum, toUInt64(count()) AS engaged_visits FROM (\
             SELECT pathname AS key, maxIf(scroll_depth, scroll_depth <= 100) AS depth, \
             countIf(scroll_depth <= 100) > 0 AS has_depth, sum(engaged_ms) AS engaged FROM events \
             WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) \
             AND name = 'engagement' AND session_id IN (SELECT session_id FROM sessions WHERE site_id = ? \
             AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) AND started_at < toDateTime(?) AND ended_at >= toDateTime(?) \
             AND (referrer_source = ?) GROUP BY session_id HAVING sum(sign) > 0) \
             GROUP BY key, session_id, pathname) GROUP BY key HAVING has(?, key) ORDER BY key ASC"
        );
    }

    #[test]
    fn total_and_buckets_golden() {
        let s = scope("event:page==/contact");
        assert_eq!(
            engagement_stats(&plan(&s, Grouping::Total)).render(),
            "SELECT '' AS key, toUInt64(sumIf(depth, has_depth)) AS scroll_depth_sum, \
             toUInt64(countIf(has_depth)) AS scroll_depth_visits, \
             toUInt64(sum(engaged)) AS engaged_ms_sum, toUInt64(count()) AS engaged_visits FROM (\
             SELECT maxIf(scroll_depth, scroll_depth <= 100) AS depth, \
             countIf(scroll_depth <= 100) > 0 AS has_depth, sum(engaged_ms) AS engaged FROM events \
             WHERE site_id = 'enschede.nl' AND toDate(timestamp) >= toDate('2026-11-01') AND toDate(timestamp) <= toDate('2026-11-02') AND timestamp >= toDateTime(1793574000) \
             AND timestamp < toDateTime(1793660400) AND name = 'engagement' AND (pathname = '/contact') \
             GROUP BY session_id, pathname)"
        );
        let hours = engagement_stats(&plan(&s, Grouping::Bucket(Interval::Hour))).render();
        assert!(
            hours.contains(
                "FROM (SELECT toString(toUInt32(toStartOfHour(timestamp, 'Europe/Amsterdam'))) AS key, \
                 maxIf("
            ) && hours.ends_with("GROUP BY key, session_id, pathname) GROUP BY key ORDER BY key ASC"),
            "{hours}"
        );
    }

    #[test]
    fn never_reads_other_events_and_binds_user_text() {
        let s = scope("event:page==/x' OR 1=1 --;event:name==Scroll");
        let sql = engagement_stats(&plan(&s, Grouping::Property(Property::Page)));
        assert!(!sql.text().contains("OR 1=1"), "{}", sql.text());
        // The engagement rows themselves, never pageviews; the name filter selects visits.
        assert!(
            sql.text().contains("AND name = 'engagement' AND (pathname = ?) AND session_id IN (SELECT session_id FROM events WHERE")
                && sql.text().contains("AND name != 'engagement' AND (name = ?))"),
            "{}",
            sql.text()
        );
    }
}
