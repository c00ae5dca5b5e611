//! The tests, as plain functions of counts (no I/O): two proportions (z-test), two Poisson
//! counts (the conditional binomial test), two samples of daily values (Welch's t-test),
//! difference in differences, and the sample size that 80 % power needs.
//!
//! Distributions come from `statrs`; the expected values in the tests were computed with
//! SciPy 1.17 (`scipy.stats.norm`, `binomtest`, `ttest_ind(equal_var=False)`).
//! `docs/statistics.md` explains each in plain language.

use statrs::distribution::{Binomial, ContinuousCDF, Discrete, Normal, StudentsT};

/// The two-sided significance level.
pub const ALPHA: f64 = 0.05;

fn normal() -> Normal {
    Normal::standard()
}

/// z of the two-sided 95 % interval (1.959964…).
pub fn z_95() -> f64 {
    normal().inverse_cdf(1.0 - ALPHA / 2.0)
}

/// Two-sided p-value of a standard normal statistic.
pub fn two_sided_normal_p(z: f64) -> f64 {
    if !z.is_finite() {
        return if z.is_nan() { 1.0 } else { 0.0 };
    }
    (2.0 * normal().sf(z.abs())).min(1.0)
}

/// Successes out of trials (converted visitors of visitors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Proportion {
    pub successes: u64,
    pub trials: u64,
}

impl Proportion {
    pub fn rate(&self) -> f64 {
        if self.trials == 0 {
            0.0
        } else {
            self.successes as f64 / self.trials as f64
        }
    }

    /// Variance of the estimated rate, p(1 − p)/n.
    fn variance(&self) -> f64 {
        let p = self.rate();
        p * (1.0 - p) / self.trials.max(1) as f64
    }
}

/// A two-proportion z-test: the difference after − before.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionTest {
    /// After − before, in percentage points.
    pub difference_pp: f64,
    /// 95 % interval of the difference (unpooled standard error), percentage points.
    pub ci95_pp: (f64, f64),
    pub z: f64,
    /// Two-sided, from the pooled standard error.
    pub p_value: f64,
}

/// The pooled two-proportion z-test, two-sided; `None` when a side has no trials.
pub fn two_proportion_z(before: Proportion, after: Proportion) -> Option<ProportionTest> {
    if before.trials == 0 || after.trials == 0 {
        return None;
    }
    let difference = after.rate() - before.rate();
    let pooled =
        (before.successes + after.successes) as f64 / (before.trials + after.trials) as f64;
    let se_pooled =
        (pooled * (1.0 - pooled) * (1.0 / before.trials as f64 + 1.0 / after.trials as f64)).sqrt();
    let se_unpooled = (before.variance() + after.variance()).sqrt();
    let z = if se_pooled > 0.0 {
        difference / se_pooled
    } else {
        0.0
    };
    let half = z_95() * se_unpooled;
    Some(ProportionTest {
        difference_pp: difference * 100.0,
        ci95_pp: ((difference - half) * 100.0, (difference + half) * 100.0),
        z,
        p_value: if se_pooled > 0.0 {
            two_sided_normal_p(z)
        } else {
            1.0
        },
    })
}

/// Two-sided p-value that two Poisson counts have the same rate per day: given their sum,
/// the second count is binomial with p = its share of the days (the conditional test);
/// two-sided as SciPy's `binomtest`: the outcomes no more likely than the one seen.
pub fn poisson_rate_p(
    count_before: u64,
    days_before: u32,
    count_after: u64,
    days_after: u32,
) -> f64 {
    let n = count_before + count_after;
    if n == 0 || days_before == 0 || days_after == 0 {
        return 1.0;
    }
    let p0 = days_after as f64 / (days_before + days_after) as f64;
    let Ok(binomial) = Binomial::new(p0, n) else {
        return 1.0;
    };
    let observed = binomial.pmf(count_after);
    // SciPy's relative tolerance for "as likely", so ties in floating point count.
    let limit = observed * (1.0 + 1e-7);
    let p: f64 = (0..=n)
        .map(|k| binomial.pmf(k))
        .filter(|pk| *pk <= limit)
        .sum();
    p.min(1.0)
}

/// Welch's two-sample t-test of `after` against `before`: (t, degrees of freedom, p).
pub fn welch_t(before: &[f64], after: &[f64]) -> Option<(f64, f64, f64)> {
    let summary = |xs: &[f64]| {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    if before.len() < 2 || after.len() < 2 {
        return None;
    }
    let (n1, m1, v1) = summary(before);
    let (n2, m2, v2) = summary(after);
    let se2 = v1 / n1 + v2 / n2;
    if se2 <= 0.0 {
        return Some((0.0, n1 + n2 - 2.0, if m1 == m2 { 1.0 } else { 0.0 }));
    }
    let t = (m2 - m1) / se2.sqrt();
    let df = se2.powi(2) / ((v1 / n1).powi(2) / (n1 - 1.0) + (v2 / n2).powi(2) / (n2 - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((t, df, (2.0 * dist.sf(t.abs())).min(1.0)))
}

/// Difference in differences of two rates: (target after − before) − (control after − before).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DiffInDiff {
    pub estimate_pp: f64,
    pub se_pp: f64,
    pub ci95_pp: (f64, f64),
    pub p_value: f64,
}

/// The difference in differences with the four rates' variances added (independent samples).
pub fn diff_in_diff(
    target: (Proportion, Proportion),
    control: (Proportion, Proportion),
) -> Option<DiffInDiff> {
    if [target.0, target.1, control.0, control.1]
        .iter()
        .any(|p| p.trials == 0)
    {
        return None;
    }
    let estimate = (target.1.rate() - target.0.rate()) - (control.1.rate() - control.0.rate());
    let se =
        (target.0.variance() + target.1.variance() + control.0.variance() + control.1.variance())
            .sqrt();
    let p_value = if se > 0.0 {
        two_sided_normal_p(estimate / se)
    } else {
        1.0
    };
    let half = z_95() * se;
    Some(DiffInDiff {
        estimate_pp: estimate * 100.0,
        se_pp: se * 100.0,
        ci95_pp: ((estimate - half) * 100.0, (estimate + half) * 100.0),
        p_value,
    })
}

/// Visitors per side a two-sided test at α = 0.05 needs to detect `p1` → `p2` with 80 %
/// power (the usual normal-approximation formula); `None` when the rates are equal.
pub fn visitors_per_side_for_power(p1: f64, p2: f64) -> Option<u64> {
    if (p1 - p2).abs() < 1e-12 || !(0.0..=1.0).contains(&p1) || !(0.0..=1.0).contains(&p2) {
        return None;
    }
    let z_beta = normal().inverse_cdf(0.8);
    let mean = (p1 + p2) / 2.0;
    let n = (z_95() * (2.0 * mean * (1.0 - mean)).sqrt()
        + z_beta * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt())
    .powi(2)
        / (p2 - p1).powi(2);
    Some(n.ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-6, "{what}: {a} against SciPy's {b}");
    }

    #[test]
    fn two_proportions_match_scipy() {
        let t = two_proportion_z(
            Proportion {
                successes: 40,
                trials: 1000,
            },
            Proportion {
                successes: 62,
                trials: 1000,
            },
        )
        .unwrap();
        close(t.z, 2.236091077733549, "z");
        close(t.p_value, 0.025345805781676098, "p");
        close(t.difference_pp, 2.2, "difference");
        close(t.ci95_pp.0, 0.27408230214543694, "ci low");
        close(t.ci95_pp.1, 4.125917697854563, "ci high");
        let none = two_proportion_z(
            Proportion {
                successes: 40,
                trials: 1000,
            },
            Proportion {
                successes: 41,
                trials: 1000,
            },
        )
        .unwrap();
        close(none.p_value, 0.909688192943391, "p without an effect");
        assert!(two_proportion_z(
            Proportion {
                successes: 0,
                trials: 0
            },
            Proportion {
                successes: 1,
                trials: 2
            }
        )
        .is_none());
    }

    #[test]
    fn poisson_counts_match_scipy_binomtest() {
        close(
            poisson_rate_p(120, 28, 160, 28),
            0.019606727290281328,
            "equal windows",
        );
        close(
            poisson_rate_p(100, 21, 150, 28),
            0.37166614732289927,
            "unequal windows",
        );
        close(poisson_rate_p(7, 7, 3, 7), 0.34375, "small counts");
        assert_eq!(poisson_rate_p(0, 7, 0, 7), 1.0);
    }

    #[test]
    fn welch_matches_scipy() {
        let before = [12.0, 15.0, 11.0, 14.0, 13.0, 16.0, 12.0];
        let after = [18.0, 17.0, 20.0, 16.0, 19.0, 21.0, 18.0];
        let (t, df, p) = welch_t(&before, &after).unwrap();
        close(t, 5.4687925822517975, "t");
        close(df, 11.974492205951819, "df");
        close(p, 0.00014435218187174606, "p");
    }

    #[test]
    fn diff_in_diff_matches_the_formula() {
        let d = diff_in_diff(
            (
                Proportion {
                    successes: 40,
                    trials: 1000,
                },
                Proportion {
                    successes: 62,
                    trials: 1000,
                },
            ),
            (
                Proportion {
                    successes: 50,
                    trials: 1000,
                },
                Proportion {
                    successes: 52,
                    trials: 1000,
                },
            ),
        )
        .unwrap();
        close(d.estimate_pp, 2.0, "estimate");
        close(d.se_pp, 1.3905106975496448, "se");
        close(d.p_value, 0.15034314643510902, "p");
    }

    #[test]
    fn power_sample_size_matches_scipy() {
        assert_eq!(visitors_per_side_for_power(0.04, 0.045), Some(25551));
        assert_eq!(visitors_per_side_for_power(0.04, 0.04), None);
    }
}
