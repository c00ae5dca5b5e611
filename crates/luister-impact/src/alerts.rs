//! The monitor that warns: for one day, what lies far outside what the same weekday of the
//! four weeks before predicts. A seasonal baseline (same weekday), not a global mean:
//! Mondays are compared with Mondays.
//!
//! Rules (also in docs/statistics.md):
//! - counts (visitors, pageviews, searches without results): flagged when the day's value
//!   lies outside mean ± 3·s of the four same weekdays, where s is their standard deviation
//!   but at least √mean (the noise of a Poisson count), and the mean is at least 5;
//! - a goal's conversion rate: flagged when the two-proportion z-test of the day against the
//!   four same weekdays together gives p < 0.001 (with at least 20 visitors that day);
//! - a saved funnel's conversion (first step to last): the same test as a goal's rate;
//! - a search term: flagged as rising when searched at least 5 times that day and at least
//!   three times its mean on the same weekdays plus one.

use crate::stats::{two_proportion_z, Proportion};
use crate::ActionError;
use chrono::{DateTime, Days, NaiveDate, Utc};
use luister_model::Site;
use luister_query::period::DateRange;
use luister_query::{params, Metric, Params, QueryEngine, Scope, SearchReport};
use luister_store::Store;
use serde::Serialize;
use std::collections::HashMap;

/// Same-weekday days the baseline holds.
const WEEKS: u64 = 4;

/// One anomaly.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    pub date: NaiveDate,
    /// `visitors`, `pageviews`, `zero_result_searches`, `goal_conversion_rate`, `rising_search_term`.
    pub kind: &'static str,
    /// The goal or term concerned, empty for site-wide counts.
    pub subject: String,
    pub value: f64,
    /// What the same weekdays predicted (their mean).
    pub expected: f64,
    /// `up` or `down`.
    pub direction: &'static str,
    pub message: String,
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// Whether a count is far outside its baseline; `Some(direction)` when it is.
pub fn count_anomaly(value: f64, baseline: &[f64]) -> Option<&'static str> {
    let (mean, sd) = mean_sd(baseline);
    if baseline.len() < WEEKS as usize || mean < 5.0 {
        return None;
    }
    let s = sd.max(mean.sqrt());
    if value > mean + 3.0 * s {
        Some("up")
    } else if value < mean - 3.0 * s {
        Some("down")
    } else {
        None
    }
}

fn baseline_days(date: NaiveDate) -> Vec<NaiveDate> {
    (1..=WEEKS)
        .filter_map(|w| date.checked_sub_days(Days::new(7 * w)))
        .collect()
}

fn custom(first: NaiveDate, last: NaiveDate, extra: &[(&str, &str)]) -> Params {
    let mut p: Params = [
        ("period".to_string(), "custom".to_string()),
        ("date".to_string(), format!("{first},{last}")),
    ]
    .into();
    for (k, v) in extra {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

fn words(kind: &str, subject: &str, value: f64, expected: f64, direction: &str) -> String {
    let what = match kind {
        "visitors" => "Bezoekers".to_string(),
        "pageviews" => "Paginaweergaven".to_string(),
        "zero_result_searches" => "Zoekopdrachten zonder resultaat".to_string(),
        "goal_conversion_rate" => format!("Conversiepercentage van \u{201c}{subject}\u{201d}"),
        "funnel_conversion" => format!("Conversie van trechter \u{201c}{subject}\u{201d}"),
        _ => format!("Zoekterm \u{201c}{subject}\u{201d}"),
    };
    let verb = if direction == "up" {
        "veel hoger"
    } else {
        "veel lager"
    };
    let unit = if matches!(kind, "goal_conversion_rate" | "funnel_conversion") {
        "%"
    } else {
        ""
    };
    let nl = |v: f64| format!("{v:.1}").replace('.', ",");
    format!(
        "{what}: {}{unit}, {verb} dan verwacht ({}{unit} op dezelfde weekdag)",
        nl(value),
        nl(expected)
    )
}

/// The anomalies of `date` (a whole local day) for `site`.
pub async fn alerts_for_day(
    engine: &QueryEngine,
    store: &Store,
    site: &Site,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, ActionError> {
    let base = baseline_days(date);
    let first = *base.last().unwrap_or(&date);
    let mut out = Vec::new();
    let mut push = |kind: &'static str,
                    subject: String,
                    value: f64,
                    expected: f64,
                    direction: &'static str| {
        let message = words(kind, &subject, value, expected, direction);
        out.push(Alert {
            date,
            kind,
            subject,
            value,
            expected,
            direction,
            message,
        });
    };

    // Visitors and pageviews per day over the five weeks.
    let series = engine
        .timeseries(&params::timeseries(
            site.clone(),
            &custom(
                first,
                date,
                &[("metrics", "visitors,pageviews"), ("interval", "date")],
            ),
            now,
        )?)
        .await?;
    let at = |d: NaiveDate, m: Metric| -> f64 {
        let key = d.to_string();
        series
            .results
            .iter()
            .find(|p| p.date.starts_with(&key))
            .and_then(|p| p.values.get(m))
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    for (metric, kind) in [
        (Metric::Visitors, "visitors"),
        (Metric::Pageviews, "pageviews"),
    ] {
        let baseline: Vec<f64> = base.iter().map(|d| at(*d, metric)).collect();
        let value = at(date, metric);
        if let Some(direction) = count_anomaly(value, &baseline) {
            push(kind, String::new(), value, mean_sd(&baseline).0, direction);
        }
    }

    let range = DateRange { first, last: date };
    let scope = Scope::new(site.clone(), range, now)?;
    // Searches without results.
    let searches = engine.search_counts(&scope, None, true).await?;
    let zero = |d: NaiveDate| {
        searches
            .iter()
            .find(|c| c.day == Some(d))
            .map_or(0.0, |c| c.zero_results as f64)
    };
    let baseline: Vec<f64> = base.iter().map(|d| zero(*d)).collect();
    if let Some(direction) = count_anomaly(zero(date), &baseline) {
        push(
            "zero_result_searches",
            String::new(),
            zero(date),
            mean_sd(&baseline).0,
            direction,
        );
    }

    // Each goal's conversion rate: the day against the four same weekdays together.
    for goal in store.list_goals(&site.domain).await? {
        let daily = engine.conversions(&scope, &goal, None, true).await?;
        let day = |d: NaiveDate| {
            daily.iter().find(|c| c.day == Some(d)).map_or(
                Proportion {
                    successes: 0,
                    trials: 0,
                },
                |c| Proportion {
                    successes: c.successes,
                    trials: c.trials,
                },
            )
        };
        let today = day(date);
        let before = base.iter().map(|d| day(*d)).fold(
            Proportion {
                successes: 0,
                trials: 0,
            },
            |a, p| Proportion {
                successes: a.successes + p.successes,
                trials: a.trials + p.trials,
            },
        );
        if today.trials < 20 || before.trials < 20 {
            continue;
        }
        if let Some(test) = two_proportion_z(before, today) {
            if test.p_value < 0.001 {
                let direction = if test.difference_pp > 0.0 {
                    "up"
                } else {
                    "down"
                };
                push(
                    "goal_conversion_rate",
                    goal.display_name.clone(),
                    today.rate() * 100.0,
                    before.rate() * 100.0,
                    direction,
                );
            }
        }
    }

    // Each saved funnel's conversion, first step to last, tested as a goal's rate is.
    for saved in store.list_funnels(&site.domain).await? {
        let Ok(definition) =
            serde_json::from_str::<luister_query::FunnelDefinition>(&saved.definition)
        else {
            continue;
        };
        let ends = |d: NaiveDate| {
            let definition = &definition;
            async move {
                let q = params::funnel(site.clone(), definition, &custom(d, d, &[]), now)?;
                let f = engine.funnel(&q).await?;
                Ok::<_, ActionError>(Proportion {
                    successes: f.steps.last().map_or(0, |s| s.visitors),
                    trials: f.steps.first().map_or(0, |s| s.visitors),
                })
            }
        };
        let today = ends(date).await?;
        let mut before = Proportion {
            successes: 0,
            trials: 0,
        };
        for d in &base {
            let p = ends(*d).await?;
            before = Proportion {
                successes: before.successes + p.successes,
                trials: before.trials + p.trials,
            };
        }
        if today.trials < 20 || before.trials < 20 {
            continue;
        }
        if let Some(test) = two_proportion_z(before, today).filter(|t| t.p_value < 0.001) {
            let direction = if test.difference_pp > 0.0 {
                "up"
            } else {
                "down"
            };
            push(
                "funnel_conversion",
                saved.name.clone(),
                today.rate() * 100.0,
                before.rate() * 100.0,
                direction,
            );
        }
    }

    // Search terms that suddenly rise.
    let day_terms = |d: NaiveDate| async move {
        let q = params::search_terms(
            site.clone(),
            &custom(d, d, &[("limit", "1000")]),
            now,
            SearchReport::Terms,
        )?;
        let rows = engine.search_terms(&q).await?;
        Ok::<HashMap<String, f64>, ActionError>(
            rows.results
                .into_iter()
                .map(|r| (r.term, r.searches as f64))
                .collect(),
        )
    };
    let today = day_terms(date).await?;
    let mut baseline_terms = Vec::new();
    for d in &base {
        baseline_terms.push(day_terms(*d).await?);
    }
    let mut rising: Vec<(&String, f64, f64)> = today
        .iter()
        .filter_map(|(term, count)| {
            let mean = baseline_terms
                .iter()
                .map(|m| m.get(term).copied().unwrap_or(0.0))
                .sum::<f64>()
                / WEEKS as f64;
            (*count >= 5.0 && *count >= 3.0 * (mean + 1.0)).then_some((term, *count, mean))
        })
        .collect();
    rising.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (term, count, mean) in rising.into_iter().take(10) {
        push("rising_search_term", term.clone(), count, mean, "up");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_outside_three_spreads_of_the_same_weekdays() {
        let baseline = [100.0, 104.0, 96.0, 100.0];
        assert_eq!(count_anomaly(100.0, &baseline), None);
        // s = max(3.27, √100 = 10): the band is 70 … 130.
        assert_eq!(count_anomaly(129.0, &baseline), None);
        assert_eq!(count_anomaly(131.0, &baseline), Some("up"));
        assert_eq!(count_anomaly(69.0, &baseline), Some("down"));
        assert_eq!(
            count_anomaly(40.0, &[2.0, 3.0, 1.0, 2.0]),
            None,
            "too little to judge"
        );
    }

    #[test]
    fn the_baseline_is_the_same_weekday() {
        let days = baseline_days(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(days.len(), 4);
        assert!(days.iter().all(|d| d.format("%a").to_string() == "Mon"));
        assert_eq!(days[3], NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
    }
}
