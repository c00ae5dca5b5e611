//! An action's impact: the before and after windows, the primary test (two proportions
//! for rates, Welch's t on daily values for counts), a difference in differences against
//! the control, the power of a test that found nothing, the value in euros and hours, and
//! the robustness checks that say how far to trust the headline.

use crate::action::{Action, ActionError, Direction, Kind};
use crate::its::interrupted_time_series;
use crate::measure::{measure, resolve, Measured, Resolved};
use crate::robustness::{daily_values, its_days, measurement_changes, placebo, warnings};
pub use crate::robustness::{Placebo, Robustness};
use crate::stats::{self, Proportion, ALPHA};
use crate::verdict::{verdict, warning, Lang};
use chrono::{DateTime, Days, NaiveDate, Utc};
use luister_model::Site;
use luister_query::period::{local_date, DateRange};
use luister_query::QueryEngine;
use luister_store::Store;
use serde::Serialize;

/// `before_days`, `after_days`, `skip_days` and the language of the verdict.
#[derive(Debug, Clone, Copy)]
pub struct ImpactParams {
    pub before_days: u32,
    pub after_days: u32,
    pub skip_days: u32,
    pub lang: Lang,
}

impl Default for ImpactParams {
    fn default() -> Self {
        Self {
            before_days: 28,
            after_days: 28,
            skip_days: 0,
            lang: Lang::Nl,
        }
    }
}

impl ImpactParams {
    pub fn check(&self) -> Result<(), ActionError> {
        for (name, value, min) in [
            ("before_days", self.before_days, 1),
            ("after_days", self.after_days, 1),
            ("skip_days", self.skip_days, 0),
        ] {
            if !(min..=366).contains(&value) {
                return Err(ActionError::invalid(
                    name,
                    format!("{value} is not a number of days from {min} to 366"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub days: u32,
}

/// One side of a rate.
#[derive(Debug, Clone, Serialize)]
pub struct RateSide {
    pub successes: u64,
    pub trials: u64,
    /// Percent.
    pub rate: f64,
}

/// One side of a count.
#[derive(Debug, Clone, Serialize)]
pub struct CountSide {
    pub total: u64,
    pub days: u32,
    pub mean_per_day: f64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Side {
    Rate(RateSide),
    Count(CountSide),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value {
    pub extra_conversions: f64,
    pub extra_conversions_ci95: (f64, f64),
    pub eur: f64,
    pub eur_ci95: (f64, f64),
    pub hours: f64,
    pub hours_ci95: (f64, f64),
}

#[derive(Debug, Clone, Serialize)]
pub struct Power {
    /// Visitors (trials) per side a test needs to detect the observed effect with 80 % power.
    pub needed_per_side: u64,
    /// How many more than the smaller side has now.
    pub extra_per_side: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    pub before: Side,
    pub after: Side,
    /// After − before of the target, minus the same of the control: percentage points for
    /// rates, per day for counts.
    pub difference_in_differences: f64,
    pub se: f64,
    pub ci95: (f64, f64),
    pub p_value: f64,
    pub significant: bool,
}

/// The answer of `GET /api/v1/actions/{id}/impact`.
#[derive(Debug, Clone, Serialize)]
pub struct Impact {
    pub action_id: String,
    pub kind: Kind,
    pub method: &'static str,
    pub windows: (Window, Window),
    pub before: Side,
    pub after: Side,
    /// Rates: after − before in percentage points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference_pp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci95_pp: Option<(f64, f64)>,
    /// Counts: after / before − 1, in percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_change: Option<f64>,
    /// Counts: the Poisson rate-ratio test (reported beside the deciding Welch test).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poisson_p_value: Option<f64>,
    pub p_value: f64,
    pub significant: bool,
    /// Whether the change went the way the action expected.
    pub as_expected: Option<bool>,
    pub control: Option<ControlResult>,
    pub power: Option<Power>,
    pub value: Option<Value>,
    pub robustness: Robustness,
    pub verdict: String,
}

/// The before window (`before_days` up to the day before the start) and the after window
/// (`after_days` from `start + skip_days`, cut at today).
fn windows(
    start: NaiveDate,
    p: &ImpactParams,
    today: NaiveDate,
) -> Result<(DateRange, DateRange, u32), ActionError> {
    let sub = |d: NaiveDate, n: u32| d.checked_sub_days(Days::new(n.into()));
    let add = |d: NaiveDate, n: u32| d.checked_add_days(Days::new(n.into()));
    let invalid = || ActionError::invalid("start_date", "the windows fall outside the calendar");
    let before = DateRange {
        first: sub(start, p.before_days).ok_or_else(invalid)?,
        last: sub(start, 1).ok_or_else(invalid)?,
    };
    let first = add(start, p.skip_days).ok_or_else(invalid)?;
    let planned_last = add(first, p.after_days - 1).ok_or_else(invalid)?;
    if first > today {
        return Err(ActionError::invalid(
            "start_date",
            format!(
                "the after window begins on {first}, after today ({today}): nothing to measure yet"
            ),
        ));
    }
    let after = DateRange {
        first,
        last: planned_last.min(today),
    };
    Ok((before, after, p.after_days))
}

fn window(range: &DateRange) -> Window {
    Window {
        first: range.first,
        last: range.last,
        days: range.days() as u32,
    }
}

fn rate_side(p: &Proportion) -> Side {
    Side::Rate(RateSide {
        successes: p.successes,
        trials: p.trials,
        rate: p.rate() * 100.0,
    })
}

fn count_side(total: u64, days: u32) -> Side {
    Side::Count(CountSide {
        total,
        days,
        mean_per_day: total as f64 / days.max(1) as f64,
    })
}

/// Runs the measurement and the tests for `action` (other actions of the site warn of overlaps).
pub async fn impact(
    engine: &QueryEngine,
    store: &Store,
    site: &Site,
    action: &Action,
    others: &[Action],
    p: &ImpactParams,
    now: DateTime<Utc>,
) -> Result<Impact, ActionError> {
    p.check()?;
    action.validate()?;
    let tz = site.timezone.parse().unwrap_or(chrono_tz::UTC);
    let (before_range, after_range, _) = windows(action.start_date, p, local_date(now, tz))?;
    let kind = action.target.kind()?;
    let target = resolve(store, site, &action.target).await?;
    let before = measure(engine, site, &target, kind, &before_range, now).await?;
    let after = measure(engine, site, &target, kind, &after_range, now).await?;
    let control = match &action.control {
        Some(c) => {
            let resolved = resolve(store, site, c).await?;
            Some((
                measure(engine, site, &resolved, kind, &before_range, now).await?,
                measure(engine, site, &resolved, kind, &after_range, now).await?,
            ))
        }
        None => None,
    };
    let overlapping: Vec<&Action> = others
        .iter()
        .filter(|o| o.id != action.id && o.target == action.target)
        .filter(|o| o.start_date >= before_range.first && o.start_date <= after_range.last)
        .collect();
    let seen = after_range.days() as u32;
    let mut warns = warnings(kind, p, (&before, &after), seen, &overlapping);
    warns.extend(measurement_changes(store, site, &before_range, &after_range, tz).await?);
    let mut result = match kind {
        Kind::Rate => rate_impact(action, &target, &before, &after, control.as_ref()),
        Kind::Count => count_impact(action, &before, &after, control.as_ref()),
    };
    result.windows = (window(&before_range), window(&after_range));
    result.robustness = Robustness {
        placebo: placebo(kind, &before, result.p_value),
        interrupted_time_series: interrupted_time_series(&its_days(&before, &after)),
        warnings: warns.iter().map(|w| warning(w, p.lang)).collect(),
    };
    result.verdict = verdict(&result, action, p.lang);
    Ok(result)
}

fn blank(action: &Action, kind: Kind, method: &'static str, before: Side, after: Side) -> Impact {
    let empty = Window {
        first: action.start_date,
        last: action.start_date,
        days: 0,
    };
    Impact {
        action_id: action.id.clone(),
        kind,
        method,
        windows: (empty.clone(), empty),
        before,
        after,
        difference_pp: None,
        ci95_pp: None,
        relative_change: None,
        poisson_p_value: None,
        p_value: 1.0,
        significant: false,
        as_expected: None,
        control: None,
        power: None,
        value: None,
        robustness: Robustness {
            placebo: None,
            interrupted_time_series: None,
            warnings: Vec::new(),
        },
        verdict: String::new(),
    }
}

fn expected(action: &Action, change: f64, significant: bool) -> Option<bool> {
    let went_up = change > 0.0;
    (significant && change != 0.0).then_some(match action.expected_direction {
        Direction::Up => went_up,
        Direction::Down => !went_up,
    })
}

fn totals(m: &Measured) -> Proportion {
    match m {
        Measured::Rate { total, .. } => *total,
        Measured::Count { .. } => Proportion {
            successes: 0,
            trials: 0,
        },
    }
}

fn rate_impact(
    action: &Action,
    target: &Resolved,
    before: &Measured,
    after: &Measured,
    control: Option<&(Measured, Measured)>,
) -> Impact {
    let (b, a) = (totals(before), totals(after));
    let mut r = blank(
        action,
        Kind::Rate,
        "two_proportion_z",
        rate_side(&b),
        rate_side(&a),
    );
    let Some(test) = stats::two_proportion_z(b, a) else {
        return r;
    };
    r.difference_pp = Some(test.difference_pp);
    r.ci95_pp = Some(test.ci95_pp);
    r.p_value = test.p_value;
    r.significant = test.p_value < ALPHA;
    r.as_expected = expected(action, test.difference_pp, r.significant);
    if !r.significant {
        r.power = stats::visitors_per_side_for_power(b.rate(), a.rate()).map(|needed| Power {
            needed_per_side: needed,
            extra_per_side: needed.saturating_sub(b.trials.min(a.trials)),
        });
    }
    if let Some(goal) = target.goal() {
        let trials = a.trials as f64;
        let extra = test.difference_pp / 100.0 * trials;
        let ci = (
            test.ci95_pp.0 / 100.0 * trials,
            test.ci95_pp.1 / 100.0 * trials,
        );
        let eur = goal.value_cents as f64 / 100.0;
        let hours = goal.minutes_saved / 60.0;
        r.value = Some(Value {
            extra_conversions: extra,
            extra_conversions_ci95: ci,
            eur: extra * eur,
            eur_ci95: (ci.0 * eur, ci.1 * eur),
            hours: extra * hours,
            hours_ci95: (ci.0 * hours, ci.1 * hours),
        });
    }
    if let Some((cb, ca)) = control {
        let (cb, ca) = (totals(cb), totals(ca));
        if let Some(d) = stats::diff_in_diff((b, a), (cb, ca)) {
            r.control = Some(ControlResult {
                before: rate_side(&cb),
                after: rate_side(&ca),
                difference_in_differences: d.estimate_pp,
                se: d.se_pp,
                ci95: d.ci95_pp,
                p_value: d.p_value,
                significant: d.p_value < ALPHA,
            });
        }
    }
    r
}

fn count_total(m: &Measured) -> u64 {
    match m {
        Measured::Count { total, .. } => *total,
        Measured::Rate { .. } => 0,
    }
}

fn count_impact(
    action: &Action,
    before: &Measured,
    after: &Measured,
    control: Option<&(Measured, Measured)>,
) -> Impact {
    let (db, da) = (daily_values(before), daily_values(after));
    let (nb, na) = (db.len().max(1) as u32, da.len().max(1) as u32);
    let (tb, ta) = (count_total(before), count_total(after));
    let mut r = blank(
        action,
        Kind::Count,
        "welch_t_daily",
        count_side(tb, nb),
        count_side(ta, na),
    );
    let (mb, ma) = (tb as f64 / nb as f64, ta as f64 / na as f64);
    r.relative_change = (mb > 0.0).then(|| (ma / mb - 1.0) * 100.0);
    r.poisson_p_value = Some(stats::poisson_rate_p(tb, nb, ta, na));
    if let Some((_, _, p)) = stats::welch_t(&db, &da) {
        r.p_value = p;
        r.significant = p < ALPHA;
    }
    r.as_expected = expected(action, ma - mb, r.significant);
    if let Some((cb, ca)) = control {
        let (cdb, cda) = (daily_values(cb), daily_values(ca));
        let mean = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len().max(1) as f64;
        let var = |xs: &[f64]| {
            let m = mean(xs);
            xs.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                / (xs.len().max(2) - 1) as f64
                / xs.len().max(1) as f64
        };
        let estimate = (mean(&da) - mean(&db)) - (mean(&cda) - mean(&cdb));
        let se = (var(&da) + var(&db) + var(&cda) + var(&cdb)).sqrt();
        let p_value = if se > 0.0 {
            stats::two_sided_normal_p(estimate / se)
        } else {
            1.0
        };
        let half = stats::z_95() * se;
        r.control = Some(ControlResult {
            before: count_side(count_total(cb), cdb.len().max(1) as u32),
            after: count_side(count_total(ca), cda.len().max(1) as u32),
            difference_in_differences: estimate,
            se,
            ci95: (estimate - half, estimate + half),
            p_value,
            significant: p_value < ALPHA,
        });
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn windows_are_whole_days_around_the_start() {
        let p = ImpactParams {
            before_days: 28,
            after_days: 28,
            skip_days: 7,
            lang: Lang::Nl,
        };
        let (before, after, _) = windows(d(2026, 9, 14), &p, d(2026, 12, 1)).unwrap();
        assert_eq!(
            (before.first, before.last),
            (d(2026, 8, 17), d(2026, 9, 13))
        );
        assert_eq!((after.first, after.last), (d(2026, 9, 21), d(2026, 10, 18)));
        let (_, cut, _) = windows(d(2026, 9, 14), &p, d(2026, 9, 30)).unwrap();
        assert_eq!(cut.last, d(2026, 9, 30), "cut at today");
        assert!(
            windows(d(2026, 9, 14), &p, d(2026, 9, 15)).is_err(),
            "the after window has not begun"
        );
    }

    #[test]
    fn placebo_runs_at_whole_weeks() {
        let daily: Vec<(NaiveDate, u64)> = (0..28)
            .map(|i| (d(2026, 8, 1) + Days::new(i), 10 + i % 2))
            .collect();
        let before = Measured::Count { total: 0, daily };
        let placebo = placebo(Kind::Count, &before, 0.01).unwrap();
        assert_eq!(placebo.runs, 3);
        assert_eq!(placebo.as_significant, 0);
    }
}
