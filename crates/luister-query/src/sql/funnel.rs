//! Statement for funnels: `windowFunnel` per visitor, then visitors per reached step.

use super::filters::{matches_any, visit_expr};
use super::scope::visit_events_where;
use super::{lit, Sql};
use crate::filter::Star;
use crate::query::{FunnelQuery, FunnelStep};
use chrono::NaiveDate;
use luister_store::Goal;
use serde::Deserialize;

/// Visitors who reached each step (index 0 = step 1), per breakdown value ('' without breakdown).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct FunnelRow {
    pub key: String,
    pub reached: Vec<u64>,
}

fn step_condition(step: &FunnelStep) -> Sql {
    let mut sql = Sql::new();
    match step {
        FunnelStep::Page(glob) => {
            sql.push("(name = 'pageview' AND ")
                .append(&matches_any(
                    &lit("pathname"),
                    std::slice::from_ref(glob),
                    Star::Segment,
                ))
                .push(")");
        }
        FunnelStep::Event(name) => {
            sql.push("name = ").bind(name.as_str());
        }
        FunnelStep::Search(glob) if glob.trim_matches('*').is_empty() => {
            sql.push("search_term != ''");
        }
        FunnelStep::Search(glob) => {
            let glob = glob.to_lowercase();
            sql.push("(search_term != '' AND ")
                .append(&matches_any(&lit("search_term"), &[glob], Star::Anything))
                .push(")");
        }
    }
    sql
}

/// Visitors of the scope (filters select their visits) reaching each step in order within the window.
pub fn funnel(query: &FunnelQuery, goals: &[Goal]) -> Sql {
    funnel_except(query, goals, None)
}

/// [`funnel`] without the visitors whose first step event falls on a UTC day in
/// `[first, last]` (their answer is stored per day, see [`funnel_days`]). Only the rows of
/// days up to `first` and from `last` on are read: a visitor's events span at most two
/// UTC days (the salt of a visitor id serves the day of its first visit and that visit's
/// end), so the visitors kept have all their events there, and those left out show up
/// there only with their first day inside.
pub fn funnel_except(
    query: &FunnelQuery,
    goals: &[Goal],
    except: Option<(NaiveDate, NaiveDate)>,
) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT key, [")
        .join(&reached_counts(query), ", ")
        .push("] AS reached FROM (")
        .append(&per_visitor(query, goals, except))
        .push(") WHERE level > 0");
    if let Some((first, last)) = except {
        sql.push(" AND NOT (toDate(first_ts) >= toDate(")
            .bind(first.to_string())
            .push(") AND toDate(first_ts) <= toDate(")
            .bind(last.to_string())
            .push("))");
    }
    sql.push(" GROUP BY key ORDER BY countIf(level >= 1) DESC, key ASC LIMIT ")
        .bind(u64::from(query.pagination.limit))
        .push(" OFFSET ")
        .bind(query.pagination.offset());
    sql
}

/// The overall answer of [`funnel`] split by the UTC day of each visitor's first step
/// event, as [`FunnelDayRow`]s (no breakdown): what [`funnel_days`] gives for the days
/// well inside the range, in one pass with the rest.
pub fn funnel_by_first_day(query: &FunnelQuery, goals: &[Goal]) -> Sql {
    let overall = FunnelQuery {
        breakdown: None,
        ..query.clone()
    };
    let mut sql = Sql::new();
    sql.push("SELECT toUInt16(toDate(first_ts)) AS day, [")
        .join(&reached_counts(&overall), ", ")
        .push("] AS reached FROM (")
        .append(&per_visitor(&overall, goals, None))
        .push(") WHERE level > 0 GROUP BY day");
    sql
}

/// `countIf(level >= 1), …` for every step.
fn reached_counts(query: &FunnelQuery) -> Vec<Sql> {
    (1..=query.steps.len())
        .map(|step| {
            let mut r = Sql::new();
            r.push("countIf(level >= ").bind(step as u64).push(")");
            r
        })
        .collect()
}

/// Per visitor: the breakdown key, the first step event's time and the level reached.
fn per_visitor(query: &FunnelQuery, goals: &[Goal], except: Option<(NaiveDate, NaiveDate)>) -> Sql {
    let conditions: Vec<Sql> = query.steps.iter().map(step_condition).collect();
    let key = match &query.breakdown {
        Some(p) => visit_expr(p),
        None => lit("''"),
    };
    let mut inner = Sql::new();
    inner
        .push("SELECT visitor_id, ")
        .append(&key)
        .push(" AS key, min(timestamp) AS first_ts, windowFunnel(")
        .bind(u64::from(query.window_seconds))
        .push(")(timestamp, ")
        .join(&conditions, ", ")
        .push(") AS level FROM events WHERE ")
        .append(&visit_events_where(&query.scope, goals));
    if query.breakdown.is_none() {
        // Events matching no step never move a visitor on; without a breakdown (which
        // reads the visitor's first event) they need not be read at all.
        inner.push(" AND (").join(&conditions, " OR ").push(")");
    }
    if let Some((first, last)) = except {
        inner
            .push(" AND (toDate(timestamp) <= toDate(")
            .bind(first.to_string())
            .push(") OR toDate(timestamp) >= toDate(")
            .bind(last.to_string())
            .push("))");
    }
    inner.push(" GROUP BY visitor_id");
    inner
}

/// Visitors per step reached, per UTC day of their first step event, for the days
/// `[first, last]` (unfiltered): the rows of the day before to the day after are read, so
/// each such visitor's events are all seen, and a visitor of the day before is not taken
/// for one of `first`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct FunnelDayRow {
    /// Days since 1970-01-01.
    pub day: u16,
    pub reached: Vec<u64>,
}

pub fn funnel_days(query: &FunnelQuery, first: NaiveDate, last: NaiveDate) -> Sql {
    let conditions: Vec<Sql> = query.steps.iter().map(step_condition).collect();
    let reached = reached_counts(query);
    let day_before = first.pred_opt().unwrap_or(first);
    let day_after = last.succ_opt().unwrap_or(last);
    let mut sql = Sql::new();
    sql.push("SELECT toUInt16(toDate(first_ts)) AS day, [")
        .join(&reached, ", ")
        .push("] AS reached FROM (SELECT visitor_id, min(timestamp) AS first_ts, windowFunnel(")
        .bind(u64::from(query.window_seconds))
        .push(")(timestamp, ")
        .join(&conditions, ", ")
        .push(") AS level FROM events WHERE site_id = ")
        .bind(query.scope.site.domain.as_str())
        .push(" AND toDate(timestamp) >= toDate(")
        .bind(day_before.to_string())
        .push(") AND toDate(timestamp) <= toDate(")
        .bind(day_after.to_string())
        .push(") AND name != 'engagement' AND (")
        .join(&conditions, " OR ")
        .push(") GROUP BY visitor_id) WHERE level > 0 AND toDate(first_ts) >= toDate(")
        .bind(first.to_string())
        .push(") AND toDate(first_ts) <= toDate(")
        .bind(last.to_string())
        .push(") GROUP BY day");
    sql
}

/// The stored per-day answers of one funnel for `[first, last]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize, clickhouse::Row)]
pub struct StoredFunnelDay {
    pub site_id: String,
    pub funnel: u64,
    /// Days since 1970-01-01.
    pub day: u16,
    pub builds: String,
    pub reached: Vec<u64>,
}

pub fn stored_funnel_days(site_id: &str, funnel: u64, first: NaiveDate, last: NaiveDate) -> Sql {
    let mut sql = Sql::new();
    sql.push("SELECT site_id, funnel, day, builds, any(reached) FROM funnel_days WHERE site_id = ")
        .bind(site_id)
        .push(" AND funnel = ")
        .bind(funnel)
        .push(" AND day >= toDate(")
        .bind(first.to_string())
        .push(") AND day <= toDate(")
        .bind(last.to_string())
        .push(") GROUP BY site_id, funnel, day, builds");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::Property;
    use crate::query::Pagination;
    use crate::sql::filters::tests::scope;

    #[test]
    fn funnel_golden() {
        let query = FunnelQuery {
            scope: scope("visit:country==NL"),
            steps: vec![
                FunnelStep::Page("/schulden/**".into()),
                FunnelStep::Search("*".into()),
                FunnelStep::Search("Huur*".into()),
                FunnelStep::Event("Aanvraag verstuurd".into()),
            ],
            window_seconds: 3600,
            breakdown: Some(Property::Source),
            pagination: Pagination::default(),
        };
        let sql = funnel(&query, &[]);
        assert_eq!(
            sql.text(),
            "SELECT key, [countIf(level >= ?), countIf(level >= ?), countIf(level >= ?), countIf(level >= ?)] AS reached \
             FROM (SELECT visitor_id, argMin(referrer_source, timestamp) AS key, min(timestamp) AS first_ts, \
             windowFunnel(?)(timestamp, \
             (name = 'pageview' AND match(pathname, ?)), search_term != '', \
             (search_term != '' AND match(search_term, ?)), name = ?) AS level FROM events WHERE site_id = ? \
             AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND name != 'engagement' \
             AND (country_code = ?) GROUP BY visitor_id) WHERE level > 0 \
             GROUP BY key ORDER BY countIf(level >= 1) DESC, key ASC LIMIT ? OFFSET ?"
        );
        let rendered = sql.render();
        assert!(
            rendered.contains("windowFunnel(3600)(timestamp"),
            "{rendered}"
        );
        assert!(
            rendered.contains("match(search_term, '^(?:huur.*)$')"),
            "{rendered}"
        );
        // Without a breakdown only events matching a step are read.
        let plain = funnel(
            &FunnelQuery {
                breakdown: None,
                ..query
            },
            &[],
        );
        assert!(
            plain.text().contains(
                "AND (country_code = ?) AND ((name = 'pageview' AND match(pathname, ?)) OR search_term != '' \
                 OR (search_term != '' AND match(search_term, ?)) OR name = ?) GROUP BY visitor_id"
            ),
            "{}",
            plain.text()
        );
    }
}
