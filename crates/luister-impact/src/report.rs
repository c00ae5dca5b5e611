//! The cycle report: headline numbers, goals with value, every saved funnel, site search,
//! the biggest movers and the actions of the cycle, each figure against the previous
//! cycle and each change marked significant or not (with the tests of `stats`).

use crate::action::Action;
use crate::cycle::{Cycle, CycleSetting};
use crate::impact::{impact, Impact, ImpactParams};
use crate::stats::{self, Proportion, ALPHA};
use crate::ActionError;
use chrono::{DateTime, NaiveDate, Utc};
use luister_model::Site;
use luister_query::{params, FunnelDefinition, Metric, Params, QueryEngine, SearchReport};
use luister_store::Store;
use serde::Serialize;
use std::collections::HashMap;

/// A figure in this cycle and the one before, with its test.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub previous: f64,
    /// Percent for counts, percentage points for rates; `None` when there is nothing to compare.
    pub change: Option<f64>,
    /// `welch_t_daily`, `two_proportion_z`, or `not_tested` (no exact counts behind it).
    pub test: &'static str,
    pub p_value: Option<f64>,
    pub significant: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mover {
    pub value: String,
    pub visitors: u64,
    pub previous: u64,
    pub change: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalFigure {
    pub goal: String,
    pub conversion_rate: Figure,
    pub conversions: u64,
    pub value_eur: f64,
    pub hours_saved: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchSection {
    pub top_terms: Vec<(String, u64)>,
    pub without_results: Vec<(String, u64)>,
    pub new_terms: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionEntry {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_measured: Option<String>,
}

/// The report of one cycle.
#[derive(Debug, Clone, Serialize)]
pub struct CycleReport {
    pub site_id: String,
    pub cycle: Cycle,
    pub previous_cycle: Cycle,
    /// False when the cycle has no visits at all (the report says so instead of numbers).
    pub has_data: bool,
    pub headline: Vec<Figure>,
    /// Visitors per day of the cycle and of the one before (for the chart).
    pub visitors_per_day: Vec<(NaiveDate, u64)>,
    pub previous_visitors_per_day: Vec<u64>,
    pub goals: Vec<GoalFigure>,
    pub funnels: Vec<Figure>,
    pub search: SearchSection,
    pub movers: HashMap<&'static str, Vec<Mover>>,
    pub actions: Vec<ActionEntry>,
}

fn custom(cycle: &Cycle, extra: &[(&str, &str)]) -> Params {
    let mut p: Params = [
        ("period".to_string(), "custom".to_string()),
        (
            "date".to_string(),
            format!("{},{}", cycle.first, cycle.last),
        ),
    ]
    .into();
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

fn count_figure(name: &str, now: &[f64], before: &[f64], total: f64, previous: f64) -> Figure {
    let p = stats::welch_t(before, now).map(|t| t.2);
    Figure {
        name: name.into(),
        value: total,
        previous,
        change: (previous > 0.0).then(|| (total / previous - 1.0) * 100.0),
        test: "welch_t_daily",
        p_value: p,
        significant: p.is_some_and(|p| p < ALPHA),
    }
}

fn rate_figure(name: &str, now: Proportion, before: Proportion) -> Figure {
    let test = stats::two_proportion_z(before, now);
    Figure {
        name: name.into(),
        value: now.rate() * 100.0,
        previous: before.rate() * 100.0,
        change: test.map(|t| t.difference_pp),
        test: "two_proportion_z",
        p_value: test.map(|t| t.p_value),
        significant: test.is_some_and(|t| t.p_value < ALPHA),
    }
}

fn untested(name: &str, value: f64, previous: f64) -> Figure {
    Figure {
        name: name.into(),
        value,
        previous,
        change: Some(value - previous),
        test: "not_tested",
        p_value: None,
        significant: false,
    }
}

async fn movers(
    engine: &QueryEngine,
    site: &Site,
    property: &str,
    (cycle, previous): (&Cycle, &Cycle),
    now: DateTime<Utc>,
) -> Result<Vec<Mover>, ActionError> {
    let run = |c: &Cycle| {
        params::breakdown(
            site.clone(),
            &custom(
                c,
                &[
                    ("property", property),
                    ("metrics", "visitors"),
                    ("limit", "200"),
                ],
            ),
            now,
        )
    };
    let (a, b) = (run(cycle)?, run(previous)?);
    let (a, b) = (engine.breakdown(&a).await?, engine.breakdown(&b).await?);
    let visitors = |r: &luister_query::results::BreakdownRow| {
        r.values
            .get(Metric::Visitors)
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0) as u64
    };
    let mut all: HashMap<String, (u64, u64)> = HashMap::new();
    for r in &a.results {
        all.entry(r.value.clone()).or_default().0 = visitors(r);
    }
    for r in &b.results {
        all.entry(r.value.clone()).or_default().1 = visitors(r);
    }
    Ok(top_movers(all))
}

/// The search terms whose number of searches changed most (`visitors` holds searches).
async fn term_movers(
    engine: &QueryEngine,
    site: &Site,
    (cycle, previous): (&Cycle, &Cycle),
    now: DateTime<Utc>,
) -> Result<Vec<Mover>, ActionError> {
    let run = |c: &Cycle| {
        params::search_terms(
            site.clone(),
            &custom(c, &[("limit", "200")]),
            now,
            SearchReport::Terms,
        )
    };
    let (a, b) = (
        engine.search_terms(&run(cycle)?).await?,
        engine.search_terms(&run(previous)?).await?,
    );
    let mut all: HashMap<String, (u64, u64)> = HashMap::new();
    for r in a.results {
        all.entry(r.term).or_default().0 = r.searches;
    }
    for r in b.results {
        all.entry(r.term).or_default().1 = r.searches;
    }
    Ok(top_movers(all))
}

/// The five values whose count changed most, from (now, before) per value.
fn top_movers(all: HashMap<String, (u64, u64)>) -> Vec<Mover> {
    let mut out: Vec<Mover> = all
        .into_iter()
        .map(|(value, (now, before))| Mover {
            value,
            visitors: now,
            previous: before,
            change: now as i64 - before as i64,
        })
        .filter(|m| m.change != 0)
        .collect();
    out.sort_by(|x, y| {
        y.change
            .abs()
            .cmp(&x.change.abs())
            .then(x.value.cmp(&y.value))
    });
    out.truncate(5);
    out
}

fn daily(series: &luister_query::results::TimeseriesResult, metric: Metric) -> Vec<f64> {
    series
        .results
        .iter()
        .map(|p| p.values.get(metric).and_then(|v| v.as_f64()).unwrap_or(0.0))
        .collect()
}

/// Builds the report of `cycle` for `site`.
pub async fn cycle_report(
    engine: &QueryEngine,
    store: &Store,
    site: &Site,
    (setting, cycle): (&CycleSetting, Cycle),
    lang: crate::Lang,
    now: DateTime<Utc>,
) -> Result<CycleReport, ActionError> {
    let previous = cycle.previous(setting);
    let metrics = "visitors,visits,pageviews,bounce_rate,visit_duration";
    let agg = |c: &Cycle| params::aggregate(site.clone(), &custom(c, &[("metrics", metrics)]), now);
    let series = |c: &Cycle| {
        params::timeseries(
            site.clone(),
            &custom(
                c,
                &[("metrics", "visitors,pageviews"), ("interval", "date")],
            ),
            now,
        )
    };
    let (a_now, a_before) = (
        engine.aggregate(&agg(&cycle)?).await?,
        engine.aggregate(&agg(&previous)?).await?,
    );
    let (s_now, s_before) = (
        engine.timeseries(&series(&cycle)?).await?,
        engine.timeseries(&series(&previous)?).await?,
    );
    let value = |a: &luister_query::results::AggregateResult, m: Metric| {
        a.values.get(m).and_then(|v| v.as_f64()).unwrap_or(0.0)
    };
    let mut headline = Vec::new();
    for (metric, name) in [
        (Metric::Visitors, "visitors"),
        (Metric::Pageviews, "pageviews"),
    ] {
        headline.push(count_figure(
            name,
            &daily(&s_now, metric),
            &daily(&s_before, metric),
            value(&a_now, metric),
            value(&a_before, metric),
        ));
    }
    for (metric, name) in [
        (Metric::Visits, "visits"),
        (Metric::BounceRate, "bounce_rate"),
        (Metric::VisitDuration, "visit_duration"),
    ] {
        headline.push(untested(
            name,
            value(&a_now, metric),
            value(&a_before, metric),
        ));
    }
    let has_data = value(&a_now, Metric::Visits) > 0.0;

    // Goals: converters of all visitors, each side.
    let gv = |c: &Cycle| params::goal_value(site.clone(), &custom(c, &[]), now);
    let (g_now, g_before) = (
        engine.goal_value(&gv(&cycle)?).await?,
        engine.goal_value(&gv(&previous)?).await?,
    );
    let goals = g_now
        .results
        .iter()
        .map(|row| {
            let before = g_before.results.iter().find(|r| r.id == row.id);
            GoalFigure {
                goal: row.goal.clone(),
                conversion_rate: rate_figure(
                    &row.goal,
                    Proportion {
                        successes: row.converters,
                        trials: g_now.totals.visitors,
                    },
                    Proportion {
                        successes: before.map_or(0, |b| b.converters),
                        trials: g_before.totals.visitors,
                    },
                ),
                conversions: row.conversions,
                value_eur: row.value_eur,
                hours_saved: row.hours_saved,
            }
        })
        .collect();

    // Every saved funnel, first step to last.
    let mut funnels = Vec::new();
    for saved in store.list_funnels(&site.domain).await? {
        let Ok(definition) = serde_json::from_str::<FunnelDefinition>(&saved.definition) else {
            continue;
        };
        let run = |c: &Cycle| params::funnel(site.clone(), &definition, &custom(c, &[]), now);
        let (f_now, f_before) = (
            engine.funnel(&run(&cycle)?).await?,
            engine.funnel(&run(&previous)?).await?,
        );
        let ends = |f: &luister_query::results::FunnelResult| Proportion {
            successes: f.steps.last().map_or(0, |s| s.visitors),
            trials: f.steps.first().map_or(0, |s| s.visitors),
        };
        funnels.push(rate_figure(&saved.name, ends(&f_now), ends(&f_before)));
    }

    // Site search.
    let terms = |report: SearchReport| {
        let q = params::search_terms(
            site.clone(),
            &custom(&cycle, &[("limit", "10")]),
            now,
            report,
        );
        async move {
            let rows = engine.search_terms(&q?).await?;
            Ok::<_, ActionError>(
                rows.results
                    .into_iter()
                    .map(|r| {
                        let n = if report == SearchReport::ZeroResults {
                            r.zero_results
                        } else {
                            r.searches
                        };
                        (r.term, n)
                    })
                    .collect::<Vec<_>>(),
            )
        }
    };
    let search = SearchSection {
        top_terms: terms(SearchReport::Terms).await?,
        without_results: terms(SearchReport::ZeroResults).await?,
        new_terms: terms(SearchReport::New).await?,
    };

    let mut moved = HashMap::new();
    moved.insert(
        "pages",
        movers(engine, site, "event:page", (&cycle, &previous), now).await?,
    );
    moved.insert(
        "sources",
        movers(engine, site, "visit:source", (&cycle, &previous), now).await?,
    );
    moved.insert(
        "search_terms",
        term_movers(engine, site, (&cycle, &previous), now).await?,
    );

    // Actions that started in the cycle or were going on during it.
    let all: Vec<Action> = store
        .list_actions(&site.domain)
        .await?
        .into_iter()
        .filter_map(|a| Action::from_stored(a).ok())
        .collect();
    let params = ImpactParams {
        lang,
        ..Default::default()
    };
    let mut actions = Vec::new();
    for action in all.iter().filter(|a| {
        a.start_date <= cycle.last
            && (a.start_date >= cycle.first || a.status == crate::action::Status::Active)
    }) {
        match impact(engine, store, site, action, &all, &params, now).await {
            Ok(r) => actions.push(ActionEntry {
                action: action.clone(),
                impact: Some(r),
                not_measured: None,
            }),
            Err(ActionError::Invalid { reason, .. }) => actions.push(ActionEntry {
                action: action.clone(),
                impact: None,
                not_measured: Some(reason),
            }),
            Err(e) => return Err(e),
        }
    }

    let days = crate::measure::days(&luister_query::period::DateRange {
        first: cycle.first,
        last: cycle.last,
    });
    let per_day: Vec<u64> = daily(&s_now, Metric::Visitors)
        .into_iter()
        .map(|v| v as u64)
        .collect();
    Ok(CycleReport {
        site_id: site.domain.clone(),
        cycle,
        previous_cycle: previous,
        has_data,
        headline,
        visitors_per_day: days
            .into_iter()
            .zip(per_day.into_iter().chain(std::iter::repeat(0)))
            .collect(),
        previous_visitors_per_day: daily(&s_before, Metric::Visitors)
            .into_iter()
            .map(|v| v as u64)
            .collect(),
        goals,
        funnels,
        search,
        movers: moved,
        actions,
    })
}
