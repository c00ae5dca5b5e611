//! WHERE/HAVING building blocks shared by every statement: the base range condition,
//! property expressions, filter conditions, goal conditions and the session filter.

use super::{lit, Sql};
use crate::filter::{glob_to_regex, Filter, Star};
use crate::property::Property;
use crate::query::Scope;
use luister_store::Goal;

/// Events of the scope's site in its range, engagement events excluded.
pub(crate) fn base_where(scope: &Scope) -> Sql {
    let (start, end) = scope.bounds();
    let mut sql = Sql::new();
    sql.push("site_id = ")
        .bind(scope.site.domain.as_str())
        .push(" AND timestamp >= toDateTime(")
        .bind(start)
        .push(") AND timestamp < toDateTime(")
        .bind(end)
        .push(") AND name != 'engagement'");
    sql
}

/// The column behind a visit property, on one event.
fn visit_column(p: &Property) -> &'static str {
    match p {
        Property::Source => "referrer_source",
        Property::Referrer => "referrer",
        Property::Channel => "channel",
        Property::UtmSource => "utm_source",
        Property::UtmMedium => "utm_medium",
        Property::UtmCampaign => "utm_campaign",
        Property::UtmContent => "utm_content",
        Property::UtmTerm => "utm_term",
        Property::Device => "device",
        Property::Browser => "browser",
        Property::BrowserVersion => "browser_version",
        Property::Os => "os",
        Property::OsVersion => "os_version",
        Property::Country => "country_code",
        Property::Region => "region",
        Property::City => "city",
        _ => "pathname",
    }
}

/// An event property's value on one event row (`event:goal` has no single value: see goals).
pub(crate) fn event_expr(p: &Property) -> Sql {
    match p {
        Property::Page => lit("pathname"),
        Property::Hostname => lit("hostname"),
        Property::Name | Property::Goal => lit("name"),
        Property::Prop(key) => {
            let mut sql = Sql::new();
            sql.push("if(has(props.key, ")
                .bind(key.as_str())
                .push("), props.value[indexOf(props.key, ")
                .bind(key.as_str())
                .push(")], '(none)')");
            sql
        }
        visit => lit(visit_column(visit)),
    }
}

/// A visit property's value for a group of events (a session or a visitor): from its first event.
pub(crate) fn visit_expr(p: &Property) -> Sql {
    match p {
        Property::EntryPage => lit("argMinIf(pathname, timestamp, name = 'pageview')"),
        Property::ExitPage => lit("argMaxIf(pathname, timestamp, name = 'pageview')"),
        constant if constant.is_visitor_constant() => {
            let mut sql = Sql::new();
            sql.push("any(").push(visit_column(constant)).push(")");
            sql
        }
        other => {
            let mut sql = Sql::new();
            sql.push("argMin(")
                .push(visit_column(other))
                .push(", timestamp)");
            sql
        }
    }
}

/// `expr` equals / matches any of `values` (a regex when a value holds `*`).
pub(crate) fn matches_any(expr: &Sql, values: &[String], star: Star) -> Sql {
    let mut sql = Sql::new();
    if values.iter().any(|v| v.contains('*')) {
        sql.push("match(")
            .append(expr)
            .push(", ")
            .bind(glob_to_regex(values, star))
            .push(")");
    } else if let [one] = values {
        sql.append(expr).push(" = ").bind(one.as_str());
    } else {
        sql.push("has(")
            .bind(values.to_vec())
            .push(", ")
            .append(expr)
            .push(")");
    }
    sql
}

fn filter_condition(expr: &Sql, filter: &Filter) -> Sql {
    let cond = matches_any(expr, &filter.values, Star::Segment);
    negate_if(cond, filter.negated)
}

fn negate_if(cond: Sql, negated: bool) -> Sql {
    let mut sql = Sql::new();
    if negated {
        sql.push("NOT (").append(&cond).push(")");
    } else {
        sql.push("(").append(&cond).push(")");
    }
    sql
}

/// What a goal filter value or a stored goal matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GoalMatch {
    Event(String),
    Page(String),
}

impl GoalMatch {
    pub(crate) fn of(goal: &Goal) -> Self {
        if goal.event_name.is_empty() {
            Self::Page(goal.page_path.clone())
        } else {
            Self::Event(goal.event_name.clone())
        }
    }

    /// A filter value: a configured goal's display name, `Visit <page glob>`, or an event name.
    pub(crate) fn resolve(value: &str, goals: &[Goal]) -> Self {
        if let Some(goal) = goals.iter().find(|g| g.display_name == value) {
            return Self::of(goal);
        }
        match value.strip_prefix("Visit ") {
            Some(page) => Self::Page(page.to_string()),
            None => Self::Event(value.to_string()),
        }
    }

    pub(crate) fn condition(&self) -> Sql {
        let mut sql = Sql::new();
        match self {
            Self::Event(name) => {
                sql.push("name = ").bind(name.as_str());
            }
            Self::Page(glob) => {
                sql.push("(name = 'pageview' AND ")
                    .append(&matches_any(
                        &lit("pathname"),
                        std::slice::from_ref(glob),
                        Star::Segment,
                    ))
                    .push(")");
            }
        }
        sql
    }
}

/// The row-level condition of all event filters (goal filters included) and of visit
/// filters on visitor-constant properties, if any.
pub(crate) fn event_condition(scope: &Scope, goals: &[Goal]) -> Option<Sql> {
    let parts: Vec<Sql> = scope
        .filters
        .iter()
        .filter(|f| !f.property.needs_sessions())
        .map(|f| match f.property {
            Property::Goal => {
                let any: Vec<Sql> = f
                    .values
                    .iter()
                    .map(|v| GoalMatch::resolve(v, goals).condition())
                    .collect();
                let mut or = Sql::new();
                or.join(&any, " OR ");
                negate_if(or, f.negated)
            }
            ref p => filter_condition(&event_expr(p), f),
        })
        .collect();
    and_all(parts)
}

/// The session-level (HAVING) condition of visit filters that need whole visits, if any.
pub(crate) fn visit_condition(scope: &Scope) -> Option<Sql> {
    let parts: Vec<Sql> = scope
        .filters
        .iter()
        .filter(|f| f.property.needs_sessions())
        .map(|f| filter_condition(&visit_expr(&f.property), f))
        .collect();
    and_all(parts)
}

fn and_all(parts: Vec<Sql>) -> Option<Sql> {
    if parts.is_empty() {
        return None;
    }
    let mut sql = Sql::new();
    sql.join(&parts, " AND ");
    Some(sql)
}

/// `session_id IN (sessions of the range with visit filters V [and an event matching E])`.
pub(crate) fn session_in(scope: &Scope, event: Option<&Sql>, visit: Option<&Sql>) -> Option<Sql> {
    let having: Vec<Sql> = event
        .map(|e| {
            let mut s = Sql::new();
            s.push("countIf(").append(e).push(") > 0");
            s
        })
        .into_iter()
        .chain(visit.cloned())
        .collect();
    let having = and_all(having)?;
    let mut sql = Sql::new();
    sql.push("session_id IN (SELECT session_id FROM events WHERE ")
        .append(&base_where(scope))
        .push(" GROUP BY session_id HAVING ")
        .append(&having)
        .push(")");
    Some(sql)
}

/// The full WHERE of a statement over whole sessions: base, and all filters via [`session_in`].
pub(crate) fn sessions_where(scope: &Scope, goals: &[Goal]) -> Sql {
    let event = event_condition(scope, goals);
    let visit = visit_condition(scope);
    let mut sql = base_where(scope);
    if let Some(inside) = session_in(scope, event.as_ref(), visit.as_ref()) {
        sql.push(" AND ").append(&inside);
    }
    sql
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::filter::parse_filters;
    use crate::period::DateRange;
    use chrono::NaiveDate;
    use luister_model::Site;

    pub(crate) fn scope(filters: &str) -> Scope {
        let day = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let now = "2026-11-03T12:00:00Z".parse().unwrap();
        let mut s = Scope::new(
            Site::new("enschede.nl"),
            DateRange {
                first: day,
                last: day,
            },
            now,
        )
        .unwrap();
        s.filters = parse_filters("filters", filters).unwrap();
        s
    }

    #[test]
    fn base_range_is_local_midnight_to_midnight() {
        let sql = base_where(&scope(""));
        assert_eq!(
            sql.render(),
            "site_id = 'enschede.nl' AND timestamp >= toDateTime(1793574000) AND timestamp < toDateTime(1793660400) AND name != 'engagement'"
        );
    }

    #[test]
    fn event_filters_golden() {
        let s = scope("event:page==/schulden/**;event:props:wijk!=Noord|Zuid;event:hostname==loket.enschede.nl");
        let sql = event_condition(&s, &[]).unwrap();
        assert_eq!(
            sql.text(),
            "(match(pathname, ?)) AND NOT (has(?, if(has(props.key, ?), props.value[indexOf(props.key, ?)], '(none)'))) AND (hostname = ?)"
        );
        assert_eq!(
            sql.render(),
            "(match(pathname, '^(?:/schulden/.*)$')) AND NOT (has(['Noord','Zuid'], if(has(props.key, 'wijk'), props.value[indexOf(props.key, 'wijk')], '(none)'))) AND (hostname = 'loket.enschede.nl')"
        );
        assert!(visit_condition(&s).is_none());
    }

    #[test]
    fn visit_filters_golden() {
        let s = scope("visit:source==Google|Bing;visit:country!=NL;visit:entry_page==/a*");
        assert_eq!(
            visit_condition(&s).unwrap().render(),
            "(has(['Google','Bing'], argMin(referrer_source, timestamp))) \
             AND (match(argMinIf(pathname, timestamp, name = 'pageview'), '^(?:/a[^/]*)$'))"
        );
        // Country comes with the visitor id (IP address): filtered on single events.
        assert_eq!(
            event_condition(&s, &[]).unwrap().render(),
            "NOT (country_code = 'NL')"
        );
    }

    #[test]
    fn goal_filters_resolve_configured_visit_and_event_goals() {
        let mut goal = Goal::page("enschede.nl", "/aanvraag/*/klaar");
        goal.display_name = "Aanvraag klaar".into();
        let s = scope("event:goal==Aanvraag klaar|Visit /contact|Download");
        assert_eq!(
            event_condition(&s, &[goal]).unwrap().render(),
            "((name = 'pageview' AND match(pathname, '^(?:/aanvraag/[^/]*/klaar)$')) OR \
             (name = 'pageview' AND pathname = '/contact') OR name = 'Download')"
        );
    }

    #[test]
    fn user_text_is_always_bound() {
        let s = scope("event:page==/x' OR 1=1 --;visit:utm_campaign==a\\|b'");
        let text = event_condition(&s, &[]).unwrap().text().to_string()
            + visit_condition(&s).unwrap().text();
        assert!(!text.contains("OR 1=1") && !text.contains("a|b"), "{text}");
        let rendered = sessions_where(&s, &[]).render();
        assert!(
            rendered.contains(r"pathname = '/x\' OR 1=1 --'"),
            "{rendered}"
        );
    }

    #[test]
    fn session_filter_golden() {
        let s = scope("event:page==/;visit:source==Google");
        assert_eq!(
            sessions_where(&s, &[]).text(),
            "site_id = ? AND timestamp >= toDateTime(?) AND timestamp < toDateTime(?) AND name != 'engagement' \
             AND session_id IN (SELECT session_id FROM events WHERE site_id = ? AND timestamp >= toDateTime(?) \
             AND timestamp < toDateTime(?) AND name != 'engagement' GROUP BY session_id \
             HAVING countIf((pathname = ?)) > 0 AND (argMin(referrer_source, timestamp) = ?))"
        );
        assert_eq!(sessions_where(&scope(""), &[]), base_where(&scope("")));
    }
}
