//! Statements for site-search reports: terms with zero results, exits and refinements,
//! new terms, and what visitors did after searching a term.
//!
//! A search is an event with a non-empty `search_term` (a search pageview or a `search`
//! event). Exit: no later event in the visit (within the range). Refinement: a later search
//! in the visit. Each statement groups by visit only the events of visits with a search
//! (of the term), found by a first pass over the search events; grouping every event of
//! the range by visit is what made these reports slow.
//!
//! Lambdas here never capture a column: ClickHouse 18.16 loses captured columns of a
//! subquery ("Unknown identifier"), so the value is passed as a second array instead.

use super::filters::GoalMatch;
use super::scope::visit_events_where;
use super::Sql;
use crate::query::{Pagination, Scope, SearchReport};
use luister_store::Goal;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct TermRow {
    pub term: String,
    pub searches: u64,
    pub visitors: u64,
    pub zero_results: u64,
    pub exits: u64,
    pub refinements: u64,
}

/// What a terms statement returns and which rows.
#[derive(Debug, Clone)]
pub struct TermsPlan<'a> {
    pub scope: &'a Scope,
    pub goals: &'a [Goal],
    pub report: SearchReport,
    /// `None` for all rows (e.g. the previous period of already chosen `only` terms).
    pub page: Option<Pagination>,
    pub only: Option<Vec<String>>,
}

/// The events in the range of the visits matching the scope that searched (for `term`, if given).
fn searching_visits(scope: &Scope, goals: &[Goal], term: Option<&str>) -> Sql {
    let visit_events = visit_events_where(scope, goals);
    let mut sql = visit_events.clone();
    sql.push(" AND session_id IN (SELECT session_id FROM events WHERE ")
        .append(&visit_events);
    match term {
        Some(term) => sql.push(" AND search_term = ").bind(term),
        None => sql.push(" AND search_term != ''"),
    };
    sql.push(")");
    sql
}

pub fn terms(plan: &TermsPlan) -> Sql {
    let mut sql = Sql::new();
    sql.push(
        "SELECT tupleElement(s, 1) AS term, count() AS searches, uniq(vid) AS visitors, \
         countIf(tupleElement(s, 3) = 0) AS zero_results, countIf(tupleElement(s, 2) >= last_ts) AS exits, \
         countIf(last_search > tupleElement(s, 2)) AS refinements FROM (SELECT session_id, \
         any(visitor_id) AS vid, max(timestamp) AS last_ts, maxIf(timestamp, search_term != '') AS last_search, \
         groupArrayIf(tuple(search_term, timestamp, search_results), search_term != '') AS list \
         FROM events WHERE ",
    )
    .append(&searching_visits(plan.scope, plan.goals, None))
    .push(" GROUP BY session_id HAVING length(list) > 0) ARRAY JOIN list AS s");
    if plan.report == SearchReport::New {
        // In WHERE, not HAVING: 18.16 cannot resolve a filtered subquery inside HAVING.
        let previous = plan.scope.previous();
        sql.push(" WHERE tupleElement(s, 1) NOT IN (SELECT search_term FROM events WHERE ")
            .append(&visit_events_where(&previous, plan.goals))
            .push(" AND search_term != '')");
    }
    sql.push(" GROUP BY term");
    let mut having = Vec::new();
    if let Some(only) = &plan.only {
        let mut h = Sql::new();
        h.push("has(").bind(only.clone()).push(", term)");
        having.push(h);
    }
    if plan.report == SearchReport::ZeroResults {
        having.push(super::lit("zero_results > 0"));
    }
    if !having.is_empty() {
        sql.push(" HAVING ").join(&having, " AND ");
    }
    match plan.report {
        SearchReport::ZeroResults => {
            sql.push(" ORDER BY zero_results DESC, searches DESC, term ASC")
        }
        _ => sql.push(" ORDER BY searches DESC, term ASC"),
    };
    if let Some(page) = plan.page {
        sql.push(" LIMIT ")
            .bind(u64::from(page.limit))
            .push(" OFFSET ")
            .bind(page.offset());
    }
    sql
}

/// The first page opened (a pageview that is not itself a search) after a visit's first
/// search for the term; `(none)` when the visit opened no further page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct NextPageRow {
    pub page: String,
    pub visits: u64,
    pub visitors: u64,
}

pub fn next_pages(scope: &Scope, goals: &[Goal], term: &str, page: Pagination) -> Sql {
    let mut sql = Sql::new();
    sql.push(
        "SELECT if(tupleElement(next, 1) = 0, '(none)', tupleElement(next, 2)) AS page, count() AS visits, \
         uniq(vid) AS visitors FROM (SELECT vid, \
         arraySort(arrayFilter((x, t) -> tupleElement(x, 1) > t, pages, \
         arrayResize([first_search], length(pages), first_search)))[1] AS next FROM (\
         SELECT session_id, any(visitor_id) AS vid, toUInt32(minIf(timestamp, search_term = ",
    )
    .bind(term)
    .push(
        ")) AS first_search, groupArrayIf(tuple(toUInt32(timestamp), pathname), \
         name = 'pageview' AND search_term = '') AS pages FROM events WHERE ",
    )
    .append(&searching_visits(scope, goals, Some(term)))
    .push(" GROUP BY session_id HAVING countIf(search_term = ")
    .bind(term)
    .push(") > 0)) GROUP BY page ORDER BY visits DESC, page ASC LIMIT ")
    .bind(u64::from(page.limit))
    .push(" OFFSET ")
    .bind(page.offset());
    sql
}

/// Visits that searched the term, and those of them with a goal conversion at or after that search.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct AfterConversionRow {
    pub visits: u64,
    pub visitors: u64,
    pub converted_visits: u64,
    pub converted_visitors: u64,
}

/// With no goals nothing converts.
pub fn conversions_after(scope: &Scope, goals: &[Goal], term: &str) -> Sql {
    let any_goal: Vec<Sql> = goals.iter().map(|g| GoalMatch::of(g).condition()).collect();
    let mut sql = Sql::new();
    sql.push(
        "SELECT count() AS visits, uniq(vid) AS visitors, countIf(converted) AS converted_visits, \
         uniqIf(vid, converted) AS converted_visitors FROM (SELECT vid, \
         arrayExists((t, s) -> t >= s, goal_times, \
         arrayResize([first_search], length(goal_times), first_search)) AS converted FROM (SELECT session_id, \
         any(visitor_id) AS vid, toUInt32(minIf(timestamp, search_term = ",
    )
    .bind(term)
    .push(")) AS first_search, groupArrayIf(toUInt32(timestamp), ");
    if any_goal.is_empty() {
        sql.push("0");
    } else {
        sql.join(&any_goal, " OR ");
    }
    sql.push(") AS goal_times FROM events WHERE ")
        .append(&searching_visits(scope, goals, Some(term)))
        .push(" GROUP BY session_id HAVING countIf(search_term = ")
        .bind(term)
        .push(") > 0))");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::filters::tests::scope;

    #[test]
    fn terms_golden() {
        let s = scope("");
        let plan = TermsPlan {
            scope: &s,
            goals: &[],
            report: SearchReport::New,
            page: Some(Pagination::default()),
            only: None,
        };
        assert_eq!(
            terms(&plan).text(),
            "SELECT tupleElement(s, 1) AS term, count() AS searches, uniq(vid) AS visitors, \
             countIf(tupleElement(s, 3) = 0) AS zero_results, countIf(tupleElement(s, 2) >= last_ts) AS exits, \
             countIf(last_search > tupleElement(s, 2)) AS refinements FROM (SELECT session_id, \
             any(visitor_id) AS vid, max(timestamp) AS last_ts, maxIf(timestamp, search_term != '') AS last_search, \
             groupArrayIf(tuple(search_term, timestamp, search_results), search_term != '') AS list \
             FROM events WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) \
             AND name != 'engagement' AND session_id IN (SELECT session_id FROM events WHERE site_id = ? \
             AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND name != 'engagement' \
             AND search_term != '') GROUP BY session_id HAVING length(list) > 0) ARRAY JOIN list AS s \
             WHERE tupleElement(s, 1) NOT IN (SELECT search_term FROM events WHERE site_id = ? \
             AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND name != 'engagement' \
             AND search_term != '') GROUP BY term ORDER BY searches DESC, term ASC LIMIT ? OFFSET ?"
        );
    }

    #[test]
    fn after_golden() {
        let s = scope("");
        let pages = next_pages(&s, &[], "huur'", Pagination::default()).render();
        assert!(
            pages.contains(r"minIf(timestamp, search_term = 'huur\'')"),
            "{pages}"
        );
        assert!(
            pages.contains(r"AND search_term = 'huur\'') GROUP BY session_id"),
            "only visits that searched the term are grouped: {pages}"
        );
        let conv = conversions_after(&s, &[Goal::event("enschede.nl", "Aanvraag")], "huur")
            .text()
            .to_string();
        assert!(
            conv.contains("groupArrayIf(toUInt32(timestamp), name = ?) AS goal_times"),
            "{conv}"
        );
    }
}
