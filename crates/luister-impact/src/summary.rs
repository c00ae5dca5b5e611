//! Many small steps add up: the actions that started in a range, each with its effect, and
//! the sum of their value. Each estimate's uncertainty is carried into the total by adding
//! variances (the actions are treated as independent; the README says what that assumes).

use crate::action::Action;
use crate::impact::{impact, Impact, ImpactParams};
use crate::stats::z_95;
use crate::ActionError;
use chrono::{DateTime, NaiveDate, Utc};
use luister_model::Site;
use luister_query::QueryEngine;
use luister_store::Store;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SummaryEntry {
    pub action: Action,
    /// The impact, or why it could not be measured (e.g. the after window has not begun).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_measured: Option<String>,
}

/// The combined value of the actions with a goal value.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Combined {
    /// Actions whose value counts in the total.
    pub actions: usize,
    pub extra_conversions: f64,
    pub extra_conversions_ci95: (f64, f64),
    pub eur: f64,
    pub eur_ci95: (f64, f64),
    pub hours: f64,
    pub hours_ci95: (f64, f64),
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub actions: Vec<SummaryEntry>,
    pub combined: Combined,
}

/// Adds estimates whose 95 % intervals are symmetric: sum, and sum ± 1.96·√Σσ².
fn add(items: &[(f64, (f64, f64))]) -> (f64, (f64, f64)) {
    let total: f64 = items.iter().map(|(v, _)| v).sum();
    let variance: f64 = items
        .iter()
        .map(|(_, (lo, hi))| ((hi - lo) / (2.0 * z_95())).powi(2))
        .sum();
    let half = z_95() * variance.sqrt();
    (total, (total - half, total + half))
}

/// The actions of `site` that started between `from` and `to`, measured, and their sum.
pub async fn summary(
    engine: &QueryEngine,
    store: &Store,
    site: &Site,
    actions: &[Action],
    (from, to): (NaiveDate, NaiveDate),
    params: &ImpactParams,
    now: DateTime<Utc>,
) -> Result<Summary, ActionError> {
    let mut entries = Vec::new();
    for action in actions
        .iter()
        .filter(|a| a.start_date >= from && a.start_date <= to)
    {
        match impact(engine, store, site, action, actions, params, now).await {
            Ok(result) => entries.push(SummaryEntry {
                action: action.clone(),
                impact: Some(result),
                not_measured: None,
            }),
            Err(ActionError::Invalid { reason, .. }) => entries.push(SummaryEntry {
                action: action.clone(),
                impact: None,
                not_measured: Some(reason),
            }),
            Err(e) => return Err(e),
        }
    }
    let values: Vec<_> = entries
        .iter()
        .filter_map(|e| e.impact.as_ref()?.value.clone())
        .collect();
    let (conversions, conversions_ci) = add(&values
        .iter()
        .map(|v| (v.extra_conversions, v.extra_conversions_ci95))
        .collect::<Vec<_>>());
    let (eur, eur_ci) = add(&values
        .iter()
        .map(|v| (v.eur, v.eur_ci95))
        .collect::<Vec<_>>());
    let (hours, hours_ci) = add(&values
        .iter()
        .map(|v| (v.hours, v.hours_ci95))
        .collect::<Vec<_>>());
    Ok(Summary {
        from,
        to,
        combined: Combined {
            actions: values.len(),
            extra_conversions: conversions,
            extra_conversions_ci95: conversions_ci,
            eur,
            eur_ci95: eur_ci,
            hours,
            hours_ci95: hours_ci,
        },
        actions: entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_add_by_variance() {
        // Two estimates of 10 ± 1.96·3 and 20 ± 1.96·4: 30 ± 1.96·5.
        let z = z_95();
        let (total, (lo, hi)) = add(&[
            (10.0, (10.0 - 3.0 * z, 10.0 + 3.0 * z)),
            (20.0, (20.0 - 4.0 * z, 20.0 + 4.0 * z)),
        ]);
        assert!((total - 30.0).abs() < 1e-9);
        assert!((hi - lo - 2.0 * 5.0 * z).abs() < 1e-9);
        assert_eq!(add(&[]), (0.0, (0.0, 0.0)));
    }
}
