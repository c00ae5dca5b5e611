//! Reading an action's target from the query engine: a rate (successes of trials) or a
//! count, for a whole window and per local day (for the robustness checks).

use crate::action::{ActionError, Kind, SearchMeasure, Target};
use crate::stats::Proportion;
use chrono::{Days, NaiveDate};
use luister_model::Site;
use luister_query::period::DateRange;
use luister_query::{params, FunnelDefinition, Metric, Params, QueryEngine, Scope};
use luister_store::{Goal, Store};

/// A window's measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum Measured {
    Rate {
        total: Proportion,
        /// Per day (missing days are zero); empty where only totals can be read (funnels).
        daily: Vec<(NaiveDate, Proportion)>,
    },
    Count {
        /// Over the window (a visitor counted once).
        total: u64,
        daily: Vec<(NaiveDate, u64)>,
    },
}

/// What a target needs from the store before it can be measured.
pub enum Resolved {
    Goal {
        goal: Goal,
        page: Option<String>,
    },
    Funnel {
        definition: FunnelDefinition,
    },
    Metric {
        metric: Metric,
        filters: String,
    },
    /// Bounces of all visits (a rate).
    BounceRate,
    Search {
        term: Option<String>,
        measure: SearchMeasure,
    },
}

impl Resolved {
    /// The goal whose value a conversion is worth, for goal targets.
    pub fn goal(&self) -> Option<&Goal> {
        match self {
            Resolved::Goal { goal, .. } => Some(goal),
            _ => None,
        }
    }
}

/// Looks a target's goal or funnel up (by display name or id).
pub async fn resolve(store: &Store, site: &Site, target: &Target) -> Result<Resolved, ActionError> {
    Ok(match target {
        Target::Goal { goal, page } => {
            let goals = store.list_goals(&site.domain).await?;
            let found = goals
                .into_iter()
                .find(|g| g.display_name == *goal || g.id == *goal)
                .ok_or_else(|| {
                    ActionError::invalid(
                        "target",
                        format!("site {} has no goal {goal:?}", site.domain),
                    )
                })?;
            Resolved::Goal {
                goal: found,
                page: page.clone().filter(|p| !p.trim().is_empty()),
            }
        }
        Target::Funnel { funnel } => {
            let saved = store
                .list_funnels(&site.domain)
                .await?
                .into_iter()
                .find(|f| f.id == *funnel || f.name == *funnel)
                .ok_or_else(|| {
                    ActionError::invalid(
                        "target",
                        format!("site {} has no saved funnel {funnel:?}", site.domain),
                    )
                })?;
            let definition = serde_json::from_str(&saved.definition).map_err(|e| {
                ActionError::invalid(
                    "target",
                    format!("saved funnel {} is unreadable: {e}", saved.id),
                )
            })?;
            Resolved::Funnel { definition }
        }
        Target::Metric { metric, .. } if metric == "bounce_rate" => Resolved::BounceRate,
        Target::Metric { metric, filters } => Resolved::Metric {
            metric: Metric::parse(metric).ok_or_else(|| {
                ActionError::invalid("target", format!("unknown metric {metric:?}"))
            })?,
            filters: filters.clone(),
        },
        Target::Search { term, measure } => Resolved::Search {
            term: term
                .as_ref()
                .map(|t| params::normalise_term(t))
                .filter(|t| !t.is_empty()),
            measure: *measure,
        },
    })
}

/// Every day of a range.
pub fn days(range: &DateRange) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut day = range.first;
    while day <= range.last {
        out.push(day);
        match day.checked_add_days(Days::new(1)) {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

fn custom(range: &DateRange, extra: &[(&str, &str)]) -> Params {
    let mut p: Params = [
        ("period".to_string(), "custom".to_string()),
        (
            "date".to_string(),
            format!("{},{}", range.first, range.last),
        ),
    ]
    .into();
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

/// Reads the target over `range`.
pub async fn measure(
    engine: &QueryEngine,
    site: &Site,
    target: &Resolved,
    kind: Kind,
    range: &DateRange,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Measured, ActionError> {
    let scope = Scope::new(site.clone(), *range, now)?;
    let all_days = days(range);
    Ok(match target {
        Resolved::Goal { goal, page } => {
            let total = engine
                .conversions(&scope, goal, page.as_deref(), false)
                .await?;
            let daily = engine
                .conversions(&scope, goal, page.as_deref(), true)
                .await?;
            let total = total.first().map_or(
                Proportion {
                    successes: 0,
                    trials: 0,
                },
                |c| Proportion {
                    successes: c.successes,
                    trials: c.trials,
                },
            );
            let daily = all_days
                .iter()
                .map(|d| {
                    let c = daily.iter().find(|c| c.day == Some(*d));
                    (
                        *d,
                        c.map_or(
                            Proportion {
                                successes: 0,
                                trials: 0,
                            },
                            |c| Proportion {
                                successes: c.successes,
                                trials: c.trials,
                            },
                        ),
                    )
                })
                .collect();
            Measured::Rate { total, daily }
        }
        Resolved::BounceRate => {
            let total = engine.bounces(&scope, false).await?;
            let daily = engine.bounces(&scope, true).await?;
            let none = Proportion {
                successes: 0,
                trials: 0,
            };
            let of = |c: &luister_query::ConversionCounts| Proportion {
                successes: c.successes,
                trials: c.trials,
            };
            Measured::Rate {
                total: total.first().map_or(none, of),
                daily: all_days
                    .iter()
                    .map(|d| {
                        (
                            *d,
                            daily.iter().find(|c| c.day == Some(*d)).map_or(none, of),
                        )
                    })
                    .collect(),
            }
        }
        Resolved::Funnel { definition } => {
            let q = params::funnel(site.clone(), definition, &custom(range, &[]), now)?;
            let result = engine.funnel(&q).await?;
            let trials = result.steps.first().map_or(0, |s| s.visitors);
            let successes = result.steps.last().map_or(0, |s| s.visitors);
            Measured::Rate {
                total: Proportion { successes, trials },
                daily: Vec::new(),
            }
        }
        Resolved::Metric { metric, filters } => {
            let name = metric.name();
            let mut extra = vec![("metrics", name)];
            if !filters.is_empty() {
                extra.push(("filters", filters.as_str()));
            }
            let aggregate = engine
                .aggregate(&params::aggregate(
                    site.clone(),
                    &custom(range, &extra),
                    now,
                )?)
                .await?;
            extra.push(("interval", "date"));
            let series = engine
                .timeseries(&params::timeseries(
                    site.clone(),
                    &custom(range, &extra),
                    now,
                )?)
                .await?;
            let value = |v: Option<luister_query::MetricValue>| {
                v.and_then(|v| v.as_f64()).unwrap_or(0.0).max(0.0) as u64
            };
            let daily = all_days
                .iter()
                .zip(
                    series
                        .results
                        .iter()
                        .map(|p| value(p.values.get(*metric)))
                        .chain(std::iter::repeat(0)),
                )
                .map(|(d, v)| (*d, v))
                .collect();
            Measured::Count {
                total: value(aggregate.values.get(*metric)),
                daily,
            }
        }
        Resolved::Search { term, measure } => {
            let total = engine.search_counts(&scope, term.as_deref(), false).await?;
            let daily = engine.search_counts(&scope, term.as_deref(), true).await?;
            let total = total.first().copied().unwrap_or_default();
            let pick = |c: &luister_query::SearchCounts| match measure {
                SearchMeasure::Searches | SearchMeasure::ZeroResultRate => c.zero_results,
                SearchMeasure::ExitRate => c.exits,
                SearchMeasure::RefinementRate => c.refinements,
            };
            let at = |d: &NaiveDate| {
                daily
                    .iter()
                    .find(|c| c.day == Some(*d))
                    .copied()
                    .unwrap_or_default()
            };
            match kind {
                Kind::Count => Measured::Count {
                    total: total.searches,
                    daily: all_days.iter().map(|d| (*d, at(d).searches)).collect(),
                },
                Kind::Rate => Measured::Rate {
                    total: Proportion {
                        successes: pick(&total),
                        trials: total.searches,
                    },
                    daily: all_days
                        .iter()
                        .map(|d| {
                            let c = at(d);
                            (
                                *d,
                                Proportion {
                                    successes: pick(&c),
                                    trials: c.searches,
                                },
                            )
                        })
                        .collect(),
                },
            }
        }
    })
}
