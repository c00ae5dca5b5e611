//! Statement for funnels: `windowFunnel` per visitor, then visitors per reached step.

use super::filters::{matches_any, visit_expr};
use super::scope::visit_events_where;
use super::{lit, Sql};
use crate::filter::Star;
use crate::query::{FunnelQuery, FunnelStep};
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
    let conditions: Vec<Sql> = query.steps.iter().map(step_condition).collect();
    let key = match &query.breakdown {
        Some(p) => visit_expr(p),
        None => lit("''"),
    };
    let mut inner = Sql::new();
    inner
        .push("SELECT visitor_id, ")
        .append(&key)
        .push(" AS key, windowFunnel(")
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
    inner.push(" GROUP BY visitor_id");
    let mut reached = Vec::new();
    for step in 1..=query.steps.len() {
        let mut r = Sql::new();
        r.push("countIf(level >= ").bind(step as u64).push(")");
        reached.push(r);
    }
    let mut sql = Sql::new();
    sql.push("SELECT key, [")
        .join(&reached, ", ")
        .push("] AS reached FROM (")
        .append(&inner)
        .push(") WHERE level > 0 GROUP BY key ORDER BY countIf(level >= 1) DESC, key ASC LIMIT ")
        .bind(u64::from(query.pagination.limit))
        .push(" OFFSET ")
        .bind(query.pagination.offset());
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
             FROM (SELECT visitor_id, argMin(referrer_source, timestamp) AS key, windowFunnel(?)(timestamp, \
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
