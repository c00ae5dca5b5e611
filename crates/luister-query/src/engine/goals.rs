//! Goal breakdown (`property=event:goal`) and the goal-value report.

use super::{pct, QueryEngine};
use crate::metric::{round2, Metric, MetricValue};
use crate::property::Property;
use crate::query::{GoalValueQuery, StatsQuery};
use crate::results::*;
use crate::sql::filters::GoalMatch;
use crate::sql::goals::{goal_counts, GoalRow};
use crate::QueryError;
use luister_store::Goal;

/// Converters and conversions per goal (same order as `goals`) plus "any goal" last; zeros without goals.
struct GoalCounts {
    total_visitors: u64,
    visitors: Vec<u64>,
    events: Vec<u64>,
}

impl QueryEngine {
    async fn goal_counts(
        &self,
        scope: &crate::query::Scope,
        goals: &[Goal],
    ) -> Result<GoalCounts, QueryError> {
        if goals.is_empty() {
            return Ok(GoalCounts {
                total_visitors: 0,
                visitors: vec![0],
                events: vec![0],
            });
        }
        let row: GoalRow = self
            .fetch_one(&goal_counts(&scope.without_goal_filters(), goals))
            .await?;
        Ok(GoalCounts {
            total_visitors: row.total_visitors,
            visitors: row.visitors,
            events: row.events,
        })
    }

    /// Breakdown by `event:goal`: the site's goals (those named in a goal filter, if any).
    pub(super) async fn goal_breakdown(
        &self,
        q: &StatsQuery,
        goals: &[Goal],
    ) -> Result<BreakdownResult, QueryError> {
        let chosen: Vec<Goal> = goals
            .iter()
            .filter(|g| goal_selected(q, g, goals))
            .cloned()
            .collect();
        let counts = self.goal_counts(&q.scope, &chosen).await?;
        let mut rows: Vec<(usize, &Goal)> = chosen.iter().enumerate().collect();
        rows.sort_by(|(a, ga), (b, gb)| {
            counts.visitors[*b]
                .cmp(&counts.visitors[*a])
                .then(ga.display_name.cmp(&gb.display_name))
        });
        let results = rows
            .into_iter()
            .skip(q.pagination.offset() as usize)
            .take(q.pagination.limit as usize)
            .map(|(i, goal)| {
                let values = q.metrics.iter().map(|m| {
                    let v = match m {
                        Metric::Events => MetricValue::Int(counts.events[i]),
                        Metric::ConversionRate => {
                            MetricValue::Float(pct(counts.visitors[i], counts.total_visitors))
                        }
                        _ => MetricValue::Int(counts.visitors[i]),
                    };
                    (*m, v)
                });
                BreakdownRow {
                    key: "goal".into(),
                    value: goal.display_name.clone(),
                    values: Values(values.collect()),
                }
            })
            .collect();
        Ok(BreakdownResult { results })
    }

    /// `GET /api/v1/goals/value`: per goal conversions, converters, rate, euros and hours saved.
    pub async fn goal_value(&self, q: &GoalValueQuery) -> Result<GoalValueResult, QueryError> {
        let goals = self.goals(&q.scope.site.domain).await?;
        let counts = self.goal_counts(&q.scope, &goals).await?;
        let results: Vec<GoalValueRow> = goals
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let conversions = counts.events[i];
                GoalValueRow {
                    goal: g.display_name.clone(),
                    id: g.id.clone(),
                    conversions,
                    converters: counts.visitors[i],
                    conversion_rate: pct(counts.visitors[i], counts.total_visitors),
                    value_eur: conversions as f64 * g.value_cents as f64 / 100.0,
                    hours_saved: round2(conversions as f64 * g.minutes_saved / 60.0),
                }
            })
            .collect();
        let any = goals.len();
        let totals = GoalValueTotals {
            visitors: counts.total_visitors,
            conversions: results.iter().map(|r| r.conversions).sum(),
            converters: counts.visitors[any],
            conversion_rate: pct(counts.visitors[any], counts.total_visitors),
            value_eur: round2(results.iter().map(|r| r.value_eur).sum()),
            hours_saved: round2(results.iter().map(|r| r.hours_saved).sum()),
        };
        Ok(GoalValueResult { results, totals })
    }
}

/// Whether a goal filter (if any) names this goal.
fn goal_selected(q: &StatsQuery, goal: &Goal, goals: &[Goal]) -> bool {
    q.scope
        .filters
        .iter()
        .filter(|f| f.property == Property::Goal)
        .all(|f| {
            let named = f
                .values
                .iter()
                .any(|v| GoalMatch::resolve(v, goals) == GoalMatch::of(goal));
            named != f.negated
        })
}
