//! Expressions and conditions shared by every statement: the column behind a property,
//! filter conditions and goal conditions. Which table a condition runs on, and how
//! conditions combine into a WHERE clause, is decided in `scope`.

use super::{lit, Sql};
use crate::filter::{glob_to_regex, Filter, Star};
use crate::property::Property;
use crate::query::Scope;
use luister_store::Goal;

/// The column behind a visit property. The same name on `events` (the value on one event)
/// and on `sessions` (the visit's value, from its first event); `entry_page` and
/// `exit_page` exist only on `sessions`.
pub(crate) fn visit_column(p: &Property) -> &'static str {
    match p {
        Property::EntryPage => "entry_page",
        Property::ExitPage => "exit_page",
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

/// A visit property's value for a group of `events` rows (a visitor, in funnels): from
/// its first event. Stats statements read the `sessions` columns instead.
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

/// The `events` row condition of the event filters (`event:*`, goals included), if any.
pub(crate) fn event_condition(scope: &Scope, goals: &[Goal]) -> Option<Sql> {
    event_condition_where(scope, goals, |_| true)
}

/// Event properties that an `engagement` event has itself: the page it reports on and its
/// host. Other event filters (name, goal, custom properties) select the visits instead.
pub(crate) fn on_engagement_rows(p: &Property) -> bool {
    matches!(p, Property::Page | Property::Hostname)
}

/// Like [`event_condition`], for the event filters whose property passes `pick`.
pub(crate) fn event_condition_where(
    scope: &Scope,
    goals: &[Goal],
    pick: fn(&Property) -> bool,
) -> Option<Sql> {
    let parts: Vec<Sql> = scope
        .filters
        .iter()
        .filter(|f| !f.property.is_visit() && pick(&f.property))
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

/// The column condition of the visit filters (`visit:*`) whose property passes `pick`, if any.
/// On `sessions` any visit property works; on `events` only visitor-constant ones.
pub(crate) fn visit_condition(scope: &Scope, pick: fn(&Property) -> bool) -> Option<Sql> {
    let parts: Vec<Sql> = scope
        .filters
        .iter()
        .filter(|f| f.property.is_visit() && pick(&f.property))
        .map(|f| filter_condition(&lit(visit_column(&f.property)), f))
        .collect();
    and_all(parts)
}

pub(crate) fn and_all(parts: Vec<Sql>) -> Option<Sql> {
    if parts.is_empty() {
        return None;
    }
    let mut sql = Sql::new();
    sql.join(&parts, " AND ");
    Some(sql)
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

    fn any_visit(_: &Property) -> bool {
        true
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
        assert!(visit_condition(&s, any_visit).is_none());
    }

    #[test]
    fn visit_filters_golden() {
        let s = scope("visit:source==Google|Bing;visit:country!=NL;visit:entry_page==/a*");
        assert_eq!(
            visit_condition(&s, any_visit).unwrap().render(),
            "(has(['Google','Bing'], referrer_source)) AND NOT (country_code = 'NL') \
             AND (match(entry_page, '^(?:/a[^/]*)$'))"
        );
        // Country comes with the visitor id (IP address): it can be filtered on single events.
        assert_eq!(
            visit_condition(&s, Property::is_visitor_constant)
                .unwrap()
                .render(),
            "NOT (country_code = 'NL')"
        );
        assert!(event_condition(&s, &[]).is_none());
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
            + visit_condition(&s, any_visit).unwrap().text();
        assert!(!text.contains("OR 1=1") && !text.contains("a|b"), "{text}");
        let rendered = event_condition(&s, &[]).unwrap().render();
        assert!(
            rendered.contains(r"pathname = '/x\' OR 1=1 --'"),
            "{rendered}"
        );
    }
}
