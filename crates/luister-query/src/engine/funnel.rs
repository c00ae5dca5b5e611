//! Funnels: visitors per reached step, rates and drop-off, overall and per breakdown value.

use super::{pct, QueryEngine};
use crate::query::{FunnelQuery, FunnelStep};
use crate::results::*;
use crate::sql::funnel::{funnel, FunnelRow};
use crate::QueryError;

/// Step results from visitors who reached each step.
pub fn step_results(steps: &[FunnelStep], reached: &[u64]) -> (Vec<FunnelStepResult>, f64) {
    let first = reached.first().copied().unwrap_or(0);
    let results = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let visitors = reached.get(i).copied().unwrap_or(0);
            let previous = if i == 0 {
                visitors
            } else {
                reached.get(i - 1).copied().unwrap_or(0)
            };
            let dropoff = previous.saturating_sub(visitors);
            FunnelStepResult {
                step: i as u32 + 1,
                label: step.label(),
                visitors,
                conversion_rate: pct(visitors, first),
                conversion_rate_from_previous: pct(visitors, previous),
                dropoff,
                dropoff_rate: pct(dropoff, previous),
            }
        })
        .collect();
    let last = reached
        .get(steps.len().saturating_sub(1))
        .copied()
        .unwrap_or(0);
    (results, pct(last, first))
}

impl QueryEngine {
    /// `POST /api/v1/funnels/query` and saved funnels.
    pub async fn funnel(&self, q: &FunnelQuery) -> Result<FunnelResult, QueryError> {
        let goals = Vec::new();
        let overall = FunnelQuery {
            breakdown: None,
            ..q.clone()
        };
        let rows: Vec<FunnelRow> = self.fetch(&funnel(&overall, &goals)).await?;
        let reached = rows.first().map(|r| r.reached.clone()).unwrap_or_default();
        let (steps, conversion_rate) = step_results(&q.steps, &reached);
        let breakdown = match &q.breakdown {
            None => None,
            Some(_) => {
                let rows: Vec<FunnelRow> = self.fetch(&funnel(q, &goals)).await?;
                Some(
                    rows.into_iter()
                        .map(|r| {
                            let (steps, conversion_rate) = step_results(&q.steps, &r.reached);
                            FunnelBreakdownRow {
                                value: r.key,
                                steps,
                                conversion_rate,
                            }
                        })
                        .collect(),
                )
            }
        };
        Ok(FunnelResult {
            steps,
            conversion_rate,
            breakdown,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_dropoff() {
        let steps = vec![
            FunnelStep::Page("/a".into()),
            FunnelStep::Search("*".into()),
            FunnelStep::Event("Klaar".into()),
        ];
        let (r, overall) = step_results(&steps, &[3, 2, 1]);
        assert_eq!(overall, 33.33);
        assert_eq!(
            (r[0].conversion_rate, r[0].dropoff, r[0].label.as_str()),
            (100.0, 0, "Visit /a")
        );
        assert_eq!(
            (
                r[1].conversion_rate,
                r[1].conversion_rate_from_previous,
                r[1].dropoff
            ),
            (66.67, 66.67, 1)
        );
        assert_eq!(
            (
                r[2].conversion_rate,
                r[2].conversion_rate_from_previous,
                r[2].dropoff_rate
            ),
            (33.33, 50.0, 50.0)
        );
        let (empty, overall) = step_results(&steps, &[]);
        assert_eq!((empty[2].visitors, overall), (0, 0.0));
    }
}
