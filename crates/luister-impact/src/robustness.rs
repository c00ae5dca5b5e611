//! How far to trust an impact: the placebo check at fake start dates, the
//! interrupted-time-series regression's input, and the warnings in plain words (windows,
//! overlapping actions, low counts, changes to the measurement itself).

use crate::action::{Action, ActionError, Kind};
use crate::impact::ImpactParams;
use crate::its::{Day, ItsResult};
use crate::measure::Measured;
use crate::stats::{self, Proportion};
use crate::verdict::Warning;
use chrono::{DateTime, NaiveDate};
use luister_model::Site;
use luister_query::period::DateRange;
use luister_store::Store;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Placebo {
    /// Fake start dates tried inside the before window.
    pub runs: u32,
    /// Of those, how many came out at least as significant as the real start date.
    pub as_significant: u32,
    pub share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Robustness {
    pub placebo: Option<Placebo>,
    /// The level change from a regression on the daily series (weekdays, trend), with
    /// autocorrelation-robust errors; `None` with fewer than 14 days a side or no daily data.
    pub interrupted_time_series: Option<ItsResult>,
    pub warnings: Vec<String>,
}

pub(crate) fn daily_values(m: &Measured) -> Vec<f64> {
    match m {
        Measured::Count { daily, .. } => daily.iter().map(|(_, v)| *v as f64).collect(),
        Measured::Rate { daily, .. } => daily.iter().map(|(_, p)| p.rate() * 100.0).collect(),
    }
}

/// The primary test's p-value between two stretches of daily data (for the placebo runs).
fn p_between(kind: Kind, before: &Measured, after: &Measured) -> Option<f64> {
    match (kind, before, after) {
        (Kind::Rate, Measured::Rate { daily: b, .. }, Measured::Rate { daily: a, .. }) => {
            let sum = |xs: &[(NaiveDate, Proportion)]| {
                xs.iter().fold(
                    Proportion {
                        successes: 0,
                        trials: 0,
                    },
                    |acc, (_, p)| Proportion {
                        successes: acc.successes + p.successes,
                        trials: acc.trials + p.trials,
                    },
                )
            };
            stats::two_proportion_z(sum(b), sum(a)).map(|t| t.p_value)
        }
        (Kind::Count, _, _) => {
            stats::welch_t(&daily_values(before), &daily_values(after)).map(|t| t.2)
        }
        _ => None,
    }
}

/// Fake start dates at whole weeks inside the before window, each with a week on either
/// side: how often does a date on which nothing happened look as significant?
pub(crate) fn placebo(kind: Kind, before: &Measured, real_p: f64) -> Option<Placebo> {
    let slice = |m: &Measured, from: usize, to: usize| -> Option<Measured> {
        Some(match m {
            Measured::Rate { daily, .. } if to <= daily.len() => Measured::Rate {
                total: Proportion {
                    successes: 0,
                    trials: 0,
                },
                daily: daily[from..to].to_vec(),
            },
            Measured::Count { daily, .. } if to <= daily.len() => Measured::Count {
                total: 0,
                daily: daily[from..to].to_vec(),
            },
            _ => return None,
        })
    };
    let len = match before {
        Measured::Rate { daily, .. } => daily.len(),
        Measured::Count { daily, .. } => daily.len(),
    };
    if len < 14 {
        return None;
    }
    let mut runs = 0;
    let mut as_significant = 0;
    let mut start = 7;
    while start + 7 <= len {
        let p = p_between(
            kind,
            &slice(before, start - 7, start)?,
            &slice(before, start, start + 7)?,
        );
        if let Some(p) = p {
            runs += 1;
            if p <= real_p {
                as_significant += 1;
            }
        }
        start += 7;
    }
    (runs > 0).then(|| Placebo {
        runs,
        as_significant,
        share: as_significant as f64 / runs as f64,
    })
}

/// Both windows' daily series as the regression takes them.
pub(crate) fn its_days(before: &Measured, after: &Measured) -> Vec<Day> {
    let days = |m: &Measured, is_after: bool| -> Vec<Day> {
        match m {
            Measured::Rate { daily, .. } => daily
                .iter()
                .map(|(date, p)| Day {
                    date: *date,
                    count: p.successes as f64,
                    exposure: p.trials as f64,
                    after: is_after,
                })
                .collect(),
            Measured::Count { daily, .. } => daily
                .iter()
                .map(|(date, c)| Day {
                    date: *date,
                    count: *c as f64,
                    exposure: 1.0,
                    after: is_after,
                })
                .collect(),
        }
    };
    let mut out = days(before, false);
    out.extend(days(after, true));
    out
}

/// Changes to what is measured inside the windows, from the audit log: the site's settings
/// and its goals (an action's own changes to actions do not count).
pub(crate) async fn measurement_changes(
    store: &Store,
    site: &Site,
    before: &DateRange,
    after: &DateRange,
    tz: chrono_tz::Tz,
) -> Result<Vec<Warning>, ActionError> {
    let entries = store.audit_entries(Some(&site.domain), 1000).await?;
    Ok(entries
        .into_iter()
        .filter(|e| e.action.starts_with("site.") || e.action.starts_with("goal."))
        .filter_map(|e| {
            let on = DateTime::from_timestamp(e.at.into(), 0)?
                .with_timezone(&tz)
                .date_naive();
            (on >= before.first && on <= after.last)
                .then_some(Warning::SiteChanged { what: e.action, on })
        })
        .collect())
}

/// What the robustness section must warn about.
pub(crate) fn warnings(
    kind: Kind,
    p: &ImpactParams,
    (before, after): (&Measured, &Measured),
    after_days_seen: u32,
    overlapping: &[&Action],
) -> Vec<Warning> {
    let mut out = Vec::new();
    if !p.before_days.is_multiple_of(7) || !p.after_days.is_multiple_of(7) {
        out.push(Warning::NotWholeWeeks);
    }
    if after_days_seen < p.after_days {
        out.push(Warning::AfterIncomplete {
            seen: after_days_seen,
            planned: p.after_days,
        });
    }
    for other in overlapping {
        out.push(Warning::Overlap {
            title: other.title.clone(),
            start: other.start_date,
        });
    }
    let low = match (kind, before, after) {
        (Kind::Rate, Measured::Rate { total: b, .. }, Measured::Rate { total: a, .. }) => {
            b.trials.min(a.trials) < 100 || b.successes.min(a.successes) < 10
        }
        (_, Measured::Count { total: b, .. }, Measured::Count { total: a, .. }) => {
            (*b).min(*a) < 20
        }
        _ => false,
    };
    if low {
        out.push(Warning::LowCounts);
    }
    let empty_before = match before {
        Measured::Rate { total, .. } => total.trials == 0,
        Measured::Count { total, .. } => *total == 0,
    };
    if empty_before {
        out.push(Warning::NoDataBefore);
    }
    out
}
