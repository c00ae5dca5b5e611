//! The WHERE clauses of the three kinds of statement, and the visit subqueries they share.
//!
//! * [`events_where`]: single events in the range that match the event filters, in visits
//!   that match the visit filters: what event-level metrics count (pageviews, events,
//!   page breakdowns, goals).
//! * [`visit_events_where`]: all events in the range of the visits that match every filter
//!   (a visit matches an event filter when one of its events in the range does): what
//!   funnels and site search look at.
//! * [`sessions_where`]: `sessions` rows of the visits that *started* in the range and match
//!   every filter: what visit-level metrics count. A visit belongs to the period in which it
//!   started, whole, as in Plausible; one that runs past midnight is not split.
//!
//! `sessions` is a `CollapsingMergeTree(sign)`: until ClickHouse merges them, a visit that
//! gained events still has its earlier states, each with an identical cancel row (`sign =
//! -1`). Any row condition keeps or drops a state and its cancel row together, so sums
//! weighted by `sign` count every visit once, in its latest state. Where a list of visits
//! is needed, `GROUP BY session_id HAVING sum(sign) > 0` keeps those whose latest state
//! matches. Nothing here assumes merged data.

use super::filters::{
    and_all, event_condition, event_condition_where, on_engagement_rows, visit_condition,
};
use super::Sql;
use crate::property::Property;
use crate::query::Scope;
use luister_store::Goal;

/// How long before a range a visit with events in the range may have started. A visit
/// lasting longer (an event at least every 30 minutes for a whole day) is not a person;
/// the collector, too, only resumes visits of the last day after a restart.
pub(crate) const VISIT_LOOKBACK_SECS: u32 = 86_400;

/// Events of the scope's site in its range, engagement events excluded.
pub(crate) fn base_where(scope: &Scope) -> Sql {
    in_range(scope, " AND name != 'engagement'")
}

/// Only the engagement events of the scope's site in its range.
fn engagement_base(scope: &Scope) -> Sql {
    in_range(scope, " AND name = 'engagement'")
}

fn in_range(scope: &Scope, name: &'static str) -> Sql {
    let (start, end) = scope.bounds();
    let mut sql = Sql::new();
    sql.push("site_id = ").bind(scope.site.domain.as_str());
    dates_of(&mut sql, "timestamp", start, end);
    sql.push(" AND timestamp >= toDateTime(")
        .bind(start)
        .push(") AND timestamp < toDateTime(")
        .bind(end)
        .push(")")
        .push(name);
    if let Some(from) = scope.visits_from {
        // Events of visits started before `from` that went on past it are left out. The
        // conditions on the dates let ClickHouse 18 skip the older parts of the primary
        // key (it does not derive them from a condition on the time).
        sql.push(" AND toDate(timestamp) >= toDate(")
            .bind(utc_date(from))
            .push(") AND timestamp >= toDateTime(")
            .bind(from)
            .push(") AND session_id NOT IN (SELECT session_id FROM sessions WHERE site_id = ")
            .bind(scope.site.domain.as_str())
            .push(" AND toDate(started_at) >= toDate(")
            .bind(utc_date(from.saturating_sub(VISIT_LOOKBACK_SECS)))
            .push(") AND started_at >= toDateTime(")
            .bind(from.saturating_sub(VISIT_LOOKBACK_SECS))
            .push(") AND started_at < toDateTime(")
            .bind(from)
            .push(") AND ended_at >= toDateTime(")
            .bind(from)
            .push("))");
    }
    sql
}

/// ` AND started_at >= …` when the scope takes only visits started from some moment on.
fn started_from(sql: &mut Sql, scope: &Scope) {
    if let Some(from) = scope.visits_from {
        sql.push(" AND toDate(started_at) >= toDate(")
            .bind(utc_date(from))
            .push(") AND started_at >= toDateTime(")
            .bind(from)
            .push(")");
    }
}

/// ` AND toDate(column) >= … AND toDate(column) <= …`: the UTC dates of `[start, end)`.
/// Both tables are ordered by the date of their time column; ClickHouse 18 skips the
/// other dates' rows only for a condition on that date, not for one on the time itself.
pub(crate) fn dates_of(sql: &mut Sql, column: &'static str, start: u32, end: u32) {
    sql.push(" AND toDate(")
        .push(column)
        .push(") >= toDate(")
        .bind(utc_date(start))
        .push(") AND toDate(")
        .push(column)
        .push(") <= toDate(")
        .bind(utc_date(end.saturating_sub(1).max(start)))
        .push(")");
}

/// The UTC date of a Unix time, as `YYYY-MM-DD`.
pub(crate) fn utc_date(secs: u32) -> String {
    chrono::DateTime::from_timestamp(secs.into(), 0)
        .unwrap_or_default()
        .date_naive()
        .to_string()
}

/// `sessions` rows of the scope's site of visits started in its range.
pub(crate) fn started_in_range(scope: &Scope) -> Sql {
    let (start, end) = scope.bounds();
    let mut sql = Sql::new();
    sql.push("site_id = ").bind(scope.site.domain.as_str());
    dates_of(&mut sql, "started_at", start, end);
    sql.push(" AND started_at >= toDateTime(")
        .bind(start)
        .push(") AND started_at < toDateTime(")
        .bind(end)
        .push(")");
    started_from(&mut sql, scope);
    sql
}

/// `sessions` rows of visits with events in the scope's range (see [`VISIT_LOOKBACK_SECS`]).
fn overlapping_range(scope: &Scope) -> Sql {
    let (start, end) = scope.bounds();
    let mut sql = Sql::new();
    sql.push("site_id = ").bind(scope.site.domain.as_str());
    dates_of(
        &mut sql,
        "started_at",
        start.saturating_sub(VISIT_LOOKBACK_SECS),
        end,
    );
    sql.push(" AND started_at >= toDateTime(")
        .bind(start.saturating_sub(VISIT_LOOKBACK_SECS))
        .push(") AND started_at < toDateTime(")
        .bind(end)
        .push(") AND ended_at >= toDateTime(")
        .bind(start)
        .push(")");
    started_from(&mut sql, scope);
    sql
}

/// `session_id IN (visits with events in the range whose latest state matches `visit`)`.
fn in_visits_matching(scope: &Scope, visit: &Sql) -> Sql {
    let mut sql = Sql::new();
    sql.push("session_id IN (SELECT session_id FROM sessions WHERE ")
        .append(&overlapping_range(scope))
        .push(" AND ")
        .append(visit)
        .push(" GROUP BY session_id HAVING sum(sign) > 0)");
    sql
}

/// `session_id IN (visits with an event in the range matching `event`)`.
fn in_visits_with_event(scope: &Scope, event: &Sql) -> Sql {
    let mut sql = Sql::new();
    sql.push("session_id IN (SELECT session_id FROM events WHERE ")
        .append(&base_where(scope))
        .push(" AND ")
        .append(event)
        .push(")");
    sql
}

/// The visit filters on `events`: visitor-constant ones on each row, the others through `sessions`.
fn visit_parts_on_events(scope: &Scope) -> Vec<Sql> {
    let on_rows = visit_condition(scope, Property::is_visitor_constant);
    let on_visits = visit_condition(scope, Property::needs_sessions);
    on_rows
        .into_iter()
        .chain(on_visits.map(|v| in_visits_matching(scope, &v)))
        .collect()
}

fn and_base(base: Sql, parts: Vec<Sql>) -> Sql {
    let mut sql = base;
    if let Some(rest) = and_all(parts) {
        sql.push(" AND ").append(&rest);
    }
    sql
}

/// Events in the range matching the event filters, in visits matching the visit filters.
pub(crate) fn events_where(scope: &Scope, goals: &[Goal]) -> Sql {
    let parts = event_condition(scope, goals)
        .into_iter()
        .chain(visit_parts_on_events(scope))
        .collect();
    and_base(base_where(scope), parts)
}

/// All events in the range of the visits that match every filter.
pub(crate) fn visit_events_where(scope: &Scope, goals: &[Goal]) -> Sql {
    let mut parts = visit_parts_on_events(scope);
    parts.extend(event_condition(scope, goals).map(|e| in_visits_with_event(scope, &e)));
    and_base(base_where(scope), parts)
}

/// Engagement events in the range on the pages (and hosts) of the event filters, in visits
/// that match the visit filters and, for the other event filters (name, goal, custom
/// properties, which an engagement event does not carry), have a matching event in the range.
pub(crate) fn engagement_where(scope: &Scope, goals: &[Goal]) -> Sql {
    let mut parts: Vec<Sql> = event_condition_where(scope, goals, on_engagement_rows)
        .into_iter()
        .collect();
    parts.extend(
        event_condition_where(scope, goals, |p| !on_engagement_rows(p))
            .map(|e| in_visits_with_event(scope, &e)),
    );
    parts.extend(visit_parts_on_events(scope));
    and_base(engagement_base(scope), parts)
}

/// `sessions` rows of visits started in the range that match every filter.
pub(crate) fn sessions_where(scope: &Scope, goals: &[Goal]) -> Sql {
    let parts = visit_condition(scope, |_| true)
        .into_iter()
        .chain(event_condition(scope, goals).map(|e| in_visits_with_event(scope, &e)))
        .collect();
    and_base(started_in_range(scope), parts)
}

/// `session_id` and the value of the visit property in `column` (its latest state) of every
/// visit with events in the range; only visits with a value among `keys` when given.
pub(crate) fn visit_values(scope: &Scope, column: &'static str, keys: Option<&[String]>) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT session_id, ")
        .push(column)
        .push(" AS dim FROM sessions WHERE ")
        .append(&overlapping_range(scope));
    if let Some(keys) = keys {
        sql.push(" AND has(")
            .bind(keys.to_vec())
            .push(", ")
            .push(column)
            .push(")");
    }
    sql.push(" GROUP BY session_id, dim HAVING sum(sign) > 0");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::filters::tests::scope;

    #[test]
    fn base_range_is_local_midnight_to_midnight() {
        assert_eq!(
            base_where(&scope("")).render(),
            "site_id = 'enschede.nl' AND toDate(timestamp) >= toDate('2026-11-01') AND toDate(timestamp) <= toDate('2026-11-02') AND timestamp >= toDateTime(1793574000) \
             AND timestamp < toDateTime(1793660400) AND name != 'engagement'"
        );
        assert_eq!(
            started_in_range(&scope("")).render(),
            "site_id = 'enschede.nl' AND toDate(started_at) >= toDate('2026-11-01') AND toDate(started_at) <= toDate('2026-11-02') AND started_at >= toDateTime(1793574000) \
             AND started_at < toDateTime(1793660400)"
        );
    }

    #[test]
    fn events_where_golden() {
        let s = scope("event:page==/;visit:source==Google;visit:country!=NL");
        assert_eq!(
            events_where(&s, &[]).text(),
            "site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) \
             AND name != 'engagement' AND (pathname = ?) AND NOT (country_code = ?) \
             AND session_id IN (SELECT session_id FROM sessions WHERE site_id = ? \
             AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) AND started_at < toDateTime(?) AND ended_at >= toDateTime(?) \
             AND (referrer_source = ?) GROUP BY session_id HAVING sum(sign) > 0)"
        );
        let rendered = events_where(&s, &[]).render();
        assert!(
            rendered.contains("started_at >= toDateTime(1793487600)"),
            "one day before the range: {rendered}"
        );
        assert_eq!(events_where(&scope(""), &[]), base_where(&scope("")));
    }

    #[test]
    fn visit_events_where_golden() {
        let s = scope("event:page==/;visit:country!=NL");
        assert_eq!(
            visit_events_where(&s, &[]).text(),
            "site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) \
             AND name != 'engagement' AND NOT (country_code = ?) \
             AND session_id IN (SELECT session_id FROM events WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' AND (pathname = ?))"
        );
    }

    #[test]
    fn sessions_where_golden() {
        let s = scope("event:goal==Download;visit:exit_page==/b;visit:device==Mobile");
        assert_eq!(
            sessions_where(&s, &[]).text(),
            "site_id = ? AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) AND started_at < toDateTime(?) \
             AND (exit_page = ?) AND (device = ?) \
             AND session_id IN (SELECT session_id FROM events WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' AND (name = ?))"
        );
        assert_eq!(
            sessions_where(&scope(""), &[]),
            started_in_range(&scope(""))
        );
    }

    #[test]
    fn engagement_where_golden() {
        // Page and host on the engagement rows; a goal through the visits; visit filters as on events.
        let s = scope("event:page==/a|/b;event:goal==Download;event:hostname==x.nl;visit:source==Google;visit:country!=NL");
        assert_eq!(
            engagement_where(&s, &[]).text(),
            "site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) \
             AND name = 'engagement' AND (has(?, pathname)) AND (hostname = ?) \
             AND session_id IN (SELECT session_id FROM events WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' AND (name = ?)) \
             AND NOT (country_code = ?) \
             AND session_id IN (SELECT session_id FROM sessions WHERE site_id = ? \
             AND toDate(started_at) >= toDate(?) AND toDate(started_at) <= toDate(?) AND started_at >= toDateTime(?) AND started_at < toDateTime(?) AND ended_at >= toDateTime(?) \
             AND (referrer_source = ?) GROUP BY session_id HAVING sum(sign) > 0)"
        );
        assert_eq!(
            engagement_where(&scope(""), &[]).render(),
            "site_id = 'enschede.nl' AND toDate(timestamp) >= toDate('2026-11-01') AND toDate(timestamp) <= toDate('2026-11-02') AND timestamp >= toDateTime(1793574000) \
             AND timestamp < toDateTime(1793660400) AND name = 'engagement'"
        );
    }

    #[test]
    fn visit_values_golden() {
        let keys = ["Google".to_string()];
        assert_eq!(
            visit_values(&scope(""), "referrer_source", Some(&keys)).render(),
            "SELECT session_id, referrer_source AS dim FROM sessions WHERE site_id = 'enschede.nl' \
             AND toDate(started_at) >= toDate('2026-10-31') AND toDate(started_at) <= toDate('2026-11-02') AND started_at >= toDateTime(1793487600) AND started_at < toDateTime(1793660400) \
             AND ended_at >= toDateTime(1793574000) AND has(['Google'], referrer_source) \
             GROUP BY session_id, dim HAVING sum(sign) > 0"
        );
    }

    #[test]
    fn user_text_is_always_bound() {
        let s = scope("event:page==/x' OR 1=1 --;visit:utm_campaign==a\\|b'");
        for sql in [
            events_where(&s, &[]),
            visit_events_where(&s, &[]),
            sessions_where(&s, &[]),
            engagement_where(&s, &[]),
        ] {
            assert!(
                !sql.text().contains("OR 1=1") && !sql.text().contains("a|b"),
                "{}",
                sql.text()
            );
        }
    }
}
