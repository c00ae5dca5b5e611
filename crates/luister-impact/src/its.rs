//! The interrupted-time-series check: a Poisson regression on the daily series of both
//! windows, with a term per weekday, a linear trend and a level change from the start date
//! (rates use the day's trials as exposure). Its standard errors are Newey–West (HAC, Bartlett
//! weights, lag ⌊4·(n/100)^(2/9)⌋), so days that resemble their neighbours do not pass for
//! independent evidence. The same model and settings as statsmodels'
//! `GLM(Poisson).fit(cov_type="HAC", cov_kwds={"maxlags": L, "use_correction": False})`,
//! which the tests compare with.

use crate::stats::{two_sided_normal_p, z_95};
use chrono::{Datelike, NaiveDate};
use nalgebra::{DMatrix, DVector};
use serde::Serialize;

/// One day of the series: its date, count (or successes), exposure (trials; 1 for counts)
/// and whether it lies after the start.
#[derive(Debug, Clone, Copy)]
pub struct Day {
    pub date: NaiveDate,
    pub count: f64,
    pub exposure: f64,
    pub after: bool,
}

/// The estimated level change at the start date, with the trend and weekdays accounted for.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItsResult {
    /// exp(β) − 1, in percent.
    pub level_change_percent: f64,
    pub ci95_percent: (f64, f64),
    pub p_value: f64,
    pub significant: bool,
    pub model: &'static str,
    pub standard_errors: &'static str,
    pub lags: usize,
    pub days: usize,
}

/// The design matrix: intercept, Tuesday … Sunday, weeks since the first day, after.
fn design(days: &[Day]) -> DMatrix<f64> {
    let first = days[0].date;
    DMatrix::from_fn(days.len(), 9, |row, col| {
        let d = &days[row];
        match col {
            0 => 1.0,
            1..=6 => f64::from(u8::from(
                d.date.weekday().num_days_from_monday() as usize == col,
            )),
            7 => (d.date - first).num_days() as f64 / 7.0,
            _ => f64::from(u8::from(d.after)),
        }
    })
}

/// Fits the model by iteratively reweighted least squares; `None` when it cannot be fitted.
fn fit(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    offset: &DVector<f64>,
) -> Option<(DVector<f64>, DVector<f64>)> {
    let k = x.ncols();
    let mean_rate = y.sum() / offset.map(f64::exp).sum();
    if mean_rate.is_nan() || mean_rate <= 0.0 {
        return None;
    }
    let mut beta = DVector::zeros(k);
    beta[0] = mean_rate.ln();
    for _ in 0..100 {
        let eta = x * &beta + offset;
        let mu = eta.map(f64::exp);
        let z = DVector::from_fn(y.len(), |i, _| eta[i] - offset[i] + (y[i] - mu[i]) / mu[i]);
        let xtw = DMatrix::from_fn(k, y.len(), |r, c| x[(c, r)] * mu[c]);
        let next = (&xtw * x).try_inverse()? * (&xtw * z);
        let step = (&next - &beta).amax();
        beta = next;
        if !step.is_finite() {
            return None;
        }
        if step < 1e-12 {
            break;
        }
    }
    let mu = (x * &beta + offset).map(f64::exp);
    Some((beta, mu))
}

/// Newey–West covariance of the coefficients: bread · (Γ₀ + Σ wₗ(Γₗ + Γₗᵀ)) · bread.
fn hac(x: &DMatrix<f64>, y: &DVector<f64>, mu: &DVector<f64>, lags: usize) -> Option<DMatrix<f64>> {
    let (n, k) = (x.nrows(), x.ncols());
    let xtwx: DMatrix<f64> = DMatrix::from_fn(k, k, |r, c| {
        (0..n).map(|i| x[(i, r)] * mu[i] * x[(i, c)]).sum::<f64>()
    });
    let bread = xtwx.try_inverse()?;
    let score = DMatrix::from_fn(n, k, |i, j| x[(i, j)] * (y[i] - mu[i]));
    let mut meat = score.transpose() * &score;
    for lag in 1..=lags {
        let weight = 1.0 - lag as f64 / (lags as f64 + 1.0);
        let gamma = score.rows(lag, n - lag).transpose() * score.rows(0, n - lag);
        meat += (&gamma + gamma.transpose()) * weight;
    }
    Some(&bread * meat * &bread)
}

/// The interrupted-time-series estimate, or `None` with too few days (two weeks at least on
/// each side) or nothing to fit.
pub fn interrupted_time_series(days: &[Day]) -> Option<ItsResult> {
    let days: Vec<Day> = days.iter().copied().filter(|d| d.exposure > 0.0).collect();
    let (before, after) = (
        days.iter().filter(|d| !d.after).count(),
        days.iter().filter(|d| d.after).count(),
    );
    if before < 14 || after < 14 {
        return None;
    }
    let x = design(&days);
    let y = DVector::from_iterator(days.len(), days.iter().map(|d| d.count));
    let offset = DVector::from_iterator(days.len(), days.iter().map(|d| d.exposure.ln()));
    let (beta, mu) = fit(&x, &y, &offset)?;
    let lags = (4.0 * (days.len() as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize;
    let cov = hac(&x, &y, &mu, lags)?;
    let b = beta[8];
    let se = cov[(8, 8)].sqrt();
    if !se.is_finite() || se <= 0.0 {
        return None;
    }
    let p_value = two_sided_normal_p(b / se);
    let pct = |v: f64| (v.exp() - 1.0) * 100.0;
    Some(ItsResult {
        level_change_percent: pct(b),
        ci95_percent: (pct(b - z_95() * se), pct(b + z_95() * se)),
        p_value,
        significant: p_value < crate::stats::ALPHA,
        model: "poisson_glm_weekday_trend_level",
        standard_errors: "newey_west_hac",
        lags,
        days: days.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(counts: &[f64], exposure: &[f64]) -> Vec<Day> {
        let first = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
        counts
            .iter()
            .zip(exposure)
            .enumerate()
            .map(|(i, (c, e))| Day {
                date: first + chrono::Days::new(i as u64),
                count: *c,
                exposure: *e,
                after: i >= 28,
            })
            .collect()
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-6, "{what}: {a} against statsmodels' {b}");
    }

    #[test]
    fn counts_match_statsmodels() {
        let counts: Vec<f64> = (0..28)
            .map(|i| (10 + (i * 7) % 5) as f64)
            .chain((0..28).map(|i| (11 + (i * 3) % 5) as f64))
            .collect();
        let r = interrupted_time_series(&series(&counts, &[1.0; 56])).unwrap();
        assert_eq!(r.lags, 3);
        close(
            (r.level_change_percent / 100.0 + 1.0).ln(),
            0.05161020246504444,
            "beta",
        );
        close(r.p_value, 0.18925698006396496, "p");
        let se = ((r.ci95_percent.1 / 100.0 + 1.0).ln()
            - (r.level_change_percent / 100.0 + 1.0).ln())
            / z_95();
        close(se, 0.039313662229553, "se");
    }

    #[test]
    fn rates_use_their_trials_as_exposure() {
        let successes: Vec<f64> = (0..28)
            .map(|i| (2 + i % 3) as f64)
            .chain((0..28).map(|i| (3 + (i * 2) % 3) as f64))
            .collect();
        let trials: Vec<f64> = (0..56).map(|i| (20 + i % 4) as f64).collect();
        let r = interrupted_time_series(&series(&successes, &trials)).unwrap();
        close(
            (r.level_change_percent / 100.0 + 1.0).ln(),
            0.32024704796884457,
            "beta",
        );
        close(r.p_value, 3.2579187433134423e-07, "p");
        assert!(r.significant);
    }

    #[test]
    fn too_short_or_empty_series_are_not_fitted() {
        assert!(interrupted_time_series(&series(&[1.0; 20], &[1.0; 20])).is_none());
        assert!(interrupted_time_series(&series(&[0.0; 56], &[1.0; 56])).is_none());
    }
}
