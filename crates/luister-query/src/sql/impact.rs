//! Statements that measure an action: goal conversions among the visitors of a page (or
//! all visitors), and site searches with their zero-result, exit and refinement counts, per
//! whole range or per local day. Exact distinct counts (`uniqExact`): a significance test
//! needs the counts themselves, not an estimate.

use super::filters::{matches_any, GoalMatch};
use super::scope::{base_where, started_in_range};
use super::{lit, Sql};
use crate::filter::Star;
use crate::query::Scope;
use luister_store::Goal;

/// The key of a row: the local day (days since 1970) or 0 for the whole range.
fn day_key(column: &'static str, scope: &Scope, by_day: bool) -> Sql {
    let mut sql = Sql::new();
    if by_day {
        sql.push("toUInt32(toDate(")
            .push(column)
            .push(", ")
            .bind(scope.tz.name())
            .push("))");
    } else {
        sql.push("toUInt32(0)");
    }
    sql
}

/// Visitors who viewed a page matching `page` (all visitors when `None`) and those of them
/// who converted on `goal` in the same visit; a visit counts on the day it started.
pub fn conversions(scope: &Scope, goal: &Goal, page: Option<&str>, by_day: bool) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&day_key("first_at", scope, by_day))
        .push(
            " AS day, toUInt64(uniqExactIf(visitor_id, viewed = 1)) AS trials, \
             toUInt64(uniqExactIf(visitor_id, viewed = 1 AND converted = 1)) AS successes \
             FROM (SELECT visitor_id, session_id, min(timestamp) AS first_at, ",
        );
    match page {
        Some(pattern) => {
            sql.push("max(name = 'pageview' AND ")
                .append(&matches_any(
                    &lit("pathname"),
                    &[pattern.to_string()],
                    Star::Segment,
                ))
                .push(")");
        }
        None => {
            sql.push("toUInt8(1)");
        }
    }
    sql.push(" AS viewed, max(")
        .append(&GoalMatch::of(goal).condition())
        .push(") AS converted FROM events WHERE ")
        .append(&base_where(scope))
        .push(" GROUP BY visitor_id, session_id) GROUP BY day ORDER BY day");
    sql
}

/// Visits that started in the range (`trials`) and those that bounced (`successes`: one
/// pageview and no interaction), exactly, from the collapsed `sessions` rows.
pub fn bounces(scope: &Scope, by_day: bool) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&day_key("started_at", scope, by_day))
        .push(
            " AS day, toUInt64(greatest(sum(sign), 0)) AS trials, \
             toUInt64(greatest(sum(sign * (pageviews = 1 AND interactions = 0)), 0)) AS successes \
             FROM sessions WHERE ",
        )
        .append(&started_in_range(scope))
        .push(" GROUP BY day ORDER BY day");
    sql
}

/// Searches (of `term`, or all) with how many found nothing, ended the visit (no later
/// event), or were followed by another search in the visit: the definitions of the
/// site-search reports. Only visits with a search are grouped.
pub fn searches(scope: &Scope, term: Option<&str>, by_day: bool) -> Sql {
    let base = base_where(scope);
    let mut sql = Sql::new();
    sql.push("SELECT ")
        .append(&day_key("ts", scope, by_day))
        .push(
            " AS day, count() AS searches, countIf(results = 0) AS zero_results, \
             countIf(ts >= last_ts) AS exits, countIf(last_search > ts) AS refinements FROM \
             (SELECT session_id, max(timestamp) AS last_ts, maxIf(timestamp, search_term != '') AS last_search, \
             groupArrayIf(timestamp, search_term != '') AS times, groupArrayIf(search_term, search_term != '') AS terms, \
             groupArrayIf(search_results, search_term != '') AS counts FROM events WHERE ",
        )
        .append(&base)
        .push(" AND session_id IN (SELECT session_id FROM events WHERE ")
        .append(&base)
        .push(" AND search_term != '') GROUP BY session_id) ARRAY JOIN times AS ts, terms AS term, counts AS results WHERE 1");
    if let Some(term) = term {
        sql.push(" AND term = ").bind(term);
    }
    sql.push(" GROUP BY day ORDER BY day");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::DateRange;
    use chrono::NaiveDate;

    fn scope() -> Scope {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        Scope::new(
            luister_model::Site::new("a.nl"),
            DateRange {
                first: day,
                last: day,
            },
            chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn conversions_golden() {
        let goal = Goal::event("a.nl", "Aanvraag verstuurd");
        let sql = conversions(&scope(), &goal, Some("/schulden/**"), true).render();
        assert!(sql.starts_with("SELECT toUInt32(toDate(first_at, 'Europe/Amsterdam')) AS day, toUInt64(uniqExactIf(visitor_id, viewed = 1)) AS trials"), "{sql}");
        assert!(
            sql.contains(
                "max(name = 'pageview' AND match(pathname, '^(?:/schulden/.*)$')) AS viewed"
            ),
            "{sql}"
        );
        assert!(
            sql.contains("max(name = 'Aanvraag verstuurd') AS converted"),
            "{sql}"
        );
        assert!(
            sql.ends_with("GROUP BY visitor_id, session_id) GROUP BY day ORDER BY day"),
            "{sql}"
        );
        let all = conversions(&scope(), &goal, None, false).render();
        assert!(
            all.starts_with("SELECT toUInt32(0) AS day") && all.contains("toUInt8(1) AS viewed"),
            "{all}"
        );
    }

    #[test]
    fn searches_golden() {
        let sql = searches(&scope(), Some("bijstand"), false).render();
        assert!(sql.contains("ARRAY JOIN times AS ts, terms AS term, counts AS results WHERE 1 AND term = 'bijstand' GROUP BY day"), "{sql}");
        assert!(
            sql.contains("AND search_term != '') GROUP BY session_id)"),
            "{sql}"
        );
    }
}
