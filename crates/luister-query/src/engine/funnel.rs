//! Funnels: visitors per reached step, rates and drop-off, overall and per breakdown value.

use super::{pct, QueryEngine};
use crate::params::{FunnelDefinition, Params};
use crate::query::{FunnelQuery, FunnelStep};
use crate::results::*;
use crate::sql::funnel::{
    funnel, funnel_by_first_day, funnel_days, funnel_except, stored_funnel_days, FunnelDayRow,
    FunnelRow, StoredFunnelDay,
};
use crate::QueryError;
use chrono::NaiveDate;

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
        let reached = match self.funnel_from_days(&overall).await? {
            Some(reached) => reached,
            None => {
                let rows: Vec<FunnelRow> = self.fetch(&funnel(&overall, &goals)).await?;
                rows.first().map(|r| r.reached.clone()).unwrap_or_default()
            }
        };
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

/// A stable hash of what decides a funnel's answer per day: its steps and window.
fn funnel_hash(q: &FunnelQuery) -> u64 {
    let text = format!("{:?} {}", q.steps, q.window_seconds);
    // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl QueryEngine {
    /// Runs the site's saved funnels (without filters) over the last 30 days, so their
    /// per-day answers are stored before a dashboard asks; returns how many ran.
    pub async fn warm_saved_funnels(
        &self,
        site: &luister_model::Site,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<usize, QueryError> {
        let mut ran = 0;
        for saved in self.store.list_funnels(&site.domain).await? {
            let Ok(mut definition) = serde_json::from_str::<FunnelDefinition>(&saved.definition)
            else {
                continue;
            };
            if !definition.filters.is_empty() {
                continue;
            }
            definition.breakdown = None;
            let period: Params = [("period".to_string(), "30d".to_string())]
                .into_iter()
                .collect();
            let q = crate::params::funnel(site.clone(), &definition, &period, now)?;
            self.funnel(&q).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// The overall answer of an unfiltered funnel from stored per-day answers for the
    /// closed days well inside the range, computing and storing the missing ones, plus the
    /// other visitors from `events`; `None` when that does not apply. Visitors of different
    /// days have different ids, so per-day answers add up exactly.
    async fn funnel_from_days(&self, q: &FunnelQuery) -> Result<Option<Vec<u64>>, QueryError> {
        let Some(coverage) = self.coverage(&q.scope).await? else {
            return Ok(None);
        };
        let days = coverage.funnel_days(&q.scope);
        let (Some((first, _)), Some((last, _))) = (days.first(), days.last()) else {
            return Ok(None);
        };
        let (first, last) = (*first, *last);
        if days.len() < 3 {
            return Ok(None);
        }
        let hash = funnel_hash(q);
        let site = q.scope.site.domain.as_str();
        let stored: Vec<StoredFunnelDay> = self
            .fetch(&stored_funnel_days(site, hash, first, last))
            .await?;
        let id_of = |day: NaiveDate| crate::period::days_since_epoch(day);
        let stored_for = |day: NaiveDate, builds: &str| {
            stored
                .iter()
                .find(|s| u32::from(s.day) == id_of(day) && s.builds == builds)
        };
        let missing: Vec<&(NaiveDate, String)> = days
            .iter()
            .filter(|(day, builds)| stored_for(*day, builds).is_none())
            .collect();
        // Most days missing (a funnel asked for the first time): one pass over the range,
        // split by day, answers the whole funnel and gives the days to store. Otherwise
        // the stored days, the missing ones, and the visitors of no stored day.
        let one_pass = missing.len() * 2 > days.len();
        let computed: Vec<FunnelDayRow> = match (one_pass, missing.first(), missing.last()) {
            (true, _, _) => self.fetch(&funnel_by_first_day(q, &[])).await?,
            (false, Some((from, _)), Some((to, _))) => {
                self.fetch(&funnel_days(q, *from, *to)).await?
            }
            _ => Vec::new(),
        };
        let computed_for = |day: NaiveDate| {
            computed
                .iter()
                .find(|c| u32::from(c.day) == id_of(day))
                .map_or_else(|| vec![0; q.steps.len()], |c| c.reached.clone())
        };
        if !missing.is_empty() {
            let mut insert = self
                .store
                .client()
                .insert::<StoredFunnelDay>("funnel_days")
                .await?;
            for (day, builds) in &missing {
                let row = StoredFunnelDay {
                    site_id: site.to_string(),
                    funnel: hash,
                    day: u16::try_from(id_of(*day)).unwrap_or(u16::MAX),
                    builds: builds.clone(),
                    reached: computed_for(*day),
                };
                insert.write(&row).await?;
            }
            insert.end().await?;
        }
        let mut parts: Vec<Vec<u64>> = Vec::new();
        if one_pass {
            parts.extend(computed.iter().map(|c| c.reached.clone()));
        } else {
            for (day, builds) in &days {
                parts.push(match stored_for(*day, builds) {
                    Some(s) => s.reached.clone(),
                    None => computed_for(*day),
                });
            }
            let rest: Vec<FunnelRow> = self
                .fetch(&funnel_except(q, &[], Some((first, last))))
                .await?;
            parts.extend(rest.into_iter().map(|r| r.reached));
        }
        let mut total = vec![0u64; q.steps.len()];
        for part in &parts {
            for (t, r) in total.iter_mut().zip(part) {
                *t += r;
            }
        }
        Ok(Some(total))
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
