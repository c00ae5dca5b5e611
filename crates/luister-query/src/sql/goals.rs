//! Statement for per-goal conversions: the goal breakdown and the goal-value report.

use super::filters::GoalMatch;
use super::scope::events_where;
use super::Sql;
use crate::query::Scope;
use luister_store::Goal;
use serde::Deserialize;

/// Visitors of the scope, and per goal (in the order given, then one entry for "any goal")
/// converters and conversions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct GoalRow {
    pub total_visitors: u64,
    pub visitors: Vec<u64>,
    pub events: Vec<u64>,
}

/// One scan for all `goals`; `scope` should carry no goal filter (it is the conversion base).
/// `goals` must not be empty.
pub fn goal_counts(scope: &Scope, goals: &[Goal]) -> Sql {
    let mut conditions: Vec<Sql> = goals.iter().map(|g| GoalMatch::of(g).condition()).collect();
    let mut any = Sql::new();
    any.push("(").join(&conditions, " OR ").push(")");
    conditions.push(any);
    let mut visitors = Vec::new();
    let mut events = Vec::new();
    for cond in &conditions {
        let mut v = Sql::new();
        v.push("uniqIf(visitor_id, ").append(cond).push(")");
        visitors.push(v);
        let mut e = Sql::new();
        e.push("countIf(").append(cond).push(")");
        events.push(e);
    }
    let mut sql = Sql::new();
    sql.push("SELECT uniq(visitor_id) AS total_visitors, [")
        .join(&visitors, ", ")
        .push("] AS visitors, [")
        .join(&events, ", ")
        .push("] AS events FROM events WHERE ")
        .append(&events_where(scope, goals));
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::filters::tests::scope;

    #[test]
    fn goal_counts_golden() {
        let goals = [
            Goal::event("enschede.nl", "Aanvraag"),
            Goal::page("enschede.nl", "/klaar/**"),
        ];
        let sql = goal_counts(&scope("visit:device==Mobile"), &goals[..1]);
        assert_eq!(
            sql.text(),
            "SELECT uniq(visitor_id) AS total_visitors, [uniqIf(visitor_id, name = ?), \
             uniqIf(visitor_id, (name = ?))] AS visitors, [countIf(name = ?), countIf((name = ?))] AS events \
             FROM events WHERE site_id = ? AND toDate(timestamp) >= toDate(?) AND toDate(timestamp) <= toDate(?) AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) \
             AND name != 'engagement' AND (device = ?)"
        );
        let both = goal_counts(&scope(""), &goals).render();
        assert!(both.contains("countIf((name = 'Aanvraag' OR (name = 'pageview' AND match(pathname, '^(?:/klaar/.*)$'))))"), "{both}");
    }
}
