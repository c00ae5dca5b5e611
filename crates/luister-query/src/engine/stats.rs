//! Aggregate, timeseries, breakdown and realtime: which statements run, and how their rows merge.

use super::QueryEngine;
use crate::metric::{change, Metric, MetricValue, Totals};
use crate::period::buckets;
use crate::property::Property;
use crate::query::{RealtimeQuery, Scope, StatsQuery};
use crate::results::*;
use crate::sql::stats::{
    event_stats, realtime_visitors, session_stats, Grouping, StatsPlan, StatsRow,
};
use crate::QueryError;
use luister_store::Goal;
use std::collections::HashMap;

type Rows = Vec<(String, Totals)>;

fn totals(row: &StatsRow) -> Totals {
    Totals {
        visitors: row.visitors,
        visits: row.visits,
        pageviews: row.pageviews,
        events: row.events,
        bounces: row.bounces,
        duration_sum: row.duration_sum,
        all_visitors: 0,
    }
}

/// A metric's value from event totals `e` and visit totals `s` (either may be the other).
fn value_of(metric: Metric, e: &Totals, s: &Totals, visits_from_sessions: bool) -> MetricValue {
    match metric {
        m if m.needs_sessions() => s.value(m),
        Metric::Visits if visits_from_sessions => s.value(Metric::Visits),
        m => e.value(m),
    }
}

fn values(metrics: &[Metric], e: &Totals, s: &Totals, visits_from_sessions: bool) -> Values {
    Values(
        metrics
            .iter()
            .map(|m| (*m, value_of(*m, e, s, visits_from_sessions)))
            .collect(),
    )
}

/// The first metric that event totals can order by.
fn event_order(metrics: &[Metric]) -> Metric {
    match metrics.first() {
        Some(m @ (Metric::Visits | Metric::Pageviews | Metric::Events)) => *m,
        _ => Metric::Visitors,
    }
}

fn needs_sessions(metrics: &[Metric]) -> bool {
    metrics.iter().any(|m| m.needs_sessions())
}

impl QueryEngine {
    /// `GET /api/v1/stats/realtime/visitors`.
    pub async fn realtime_visitors(&self, q: &RealtimeQuery) -> Result<u64, QueryError> {
        let now = crate::query::secs(q.now);
        let sql = realtime_visitors(&q.site.domain, now);
        Ok(sql.to_query(self.store.client()).fetch_one::<u64>().await?)
    }

    /// Goals of the site when a filter or breakdown refers to them.
    async fn goals_for(&self, q: &StatsQuery) -> Result<Vec<Goal>, QueryError> {
        if q.scope.has_goal_filter() || q.dimension == Some(Property::Goal) {
            self.goals(&q.scope.site.domain).await
        } else {
            Ok(Vec::new())
        }
    }

    async fn run(&self, plan: &StatsPlan<'_>, sessions: bool) -> Result<Rows, QueryError> {
        let sql = if sessions {
            session_stats(plan)
        } else {
            event_stats(plan)
        };
        let rows: Vec<StatsRow> = self.fetch(&sql).await?;
        Ok(rows.iter().map(|r| (r.key.clone(), totals(r))).collect())
    }

    /// Visitors per key without goal filters: the base of `conversion_rate`.
    async fn conversion_base(
        &self,
        plan: &StatsPlan<'_>,
        sessions: bool,
        rows: &Rows,
    ) -> Result<HashMap<String, u64>, QueryError> {
        let scope = plan.scope.without_goal_filters();
        let keys = (plan.grouping != Grouping::Total)
            .then(|| rows.iter().map(|(k, _)| k.clone()).collect());
        let base = StatsPlan {
            scope: &scope,
            page: None,
            keys,
            ..plan.clone()
        };
        Ok(self
            .run(&base, sessions)
            .await?
            .into_iter()
            .map(|(k, t)| (k, t.visitors))
            .collect())
    }

    async fn fill_conversion_base(
        &self,
        plan: &StatsPlan<'_>,
        sessions: bool,
        rows: &mut Rows,
        metrics: &[Metric],
    ) -> Result<(), QueryError> {
        if metrics.contains(&Metric::ConversionRate) && !rows.is_empty() {
            let base = self.conversion_base(plan, sessions, rows).await?;
            for (key, t) in rows.iter_mut() {
                t.all_visitors = base.get(key).copied().unwrap_or(0);
            }
        }
        Ok(())
    }

    async fn aggregate_values(
        &self,
        scope: &Scope,
        goals: &[Goal],
        metrics: &[Metric],
    ) -> Result<Values, QueryError> {
        let sessions = needs_sessions(metrics);
        let plan = StatsPlan {
            scope,
            goals,
            grouping: Grouping::Total,
            order: Metric::Visitors,
            page: None,
            keys: None,
        };
        let mut rows = self.run(&plan, sessions).await?;
        self.fill_conversion_base(&plan, sessions, &mut rows, metrics)
            .await?;
        let t = rows.first().map(|(_, t)| *t).unwrap_or_default();
        Ok(values(metrics, &t, &t, true))
    }

    /// `GET /api/v1/stats/aggregate`.
    pub async fn aggregate(&self, q: &StatsQuery) -> Result<AggregateResult, QueryError> {
        let goals = self.goals_for(q).await?;
        let now = self.aggregate_values(&q.scope, &goals, &q.metrics).await?;
        let changes = if q.compare {
            let before = self
                .aggregate_values(&q.scope.previous(), &goals, &q.metrics)
                .await?;
            Some(
                now.0
                    .iter()
                    .zip(&before.0)
                    .map(|((m, a), (_, b))| change(*m, *a, *b))
                    .collect(),
            )
        } else {
            None
        };
        Ok(AggregateResult {
            values: now,
            changes,
        })
    }

    /// `GET /api/v1/stats/timeseries`: every bucket of the range, zeros included.
    pub async fn timeseries(&self, q: &StatsQuery) -> Result<TimeseriesResult, QueryError> {
        let goals = self.goals_for(q).await?;
        let plan = StatsPlan {
            scope: &q.scope,
            goals: &goals,
            grouping: Grouping::Bucket(q.interval),
            order: Metric::Visitors,
            page: None,
            keys: None,
        };
        let mut events = Rows::new();
        if q.metrics.iter().any(|m| !m.needs_sessions()) {
            events = self.run(&plan, false).await?;
            self.fill_conversion_base(&plan, false, &mut events, &q.metrics)
                .await?;
        }
        let sessions = if needs_sessions(&q.metrics) {
            self.run(&plan, true).await?
        } else {
            Rows::new()
        };
        let (events, sessions): (HashMap<_, _>, HashMap<_, _>) =
            (events.into_iter().collect(), sessions.into_iter().collect());
        let visits_from_sessions = !sessions.is_empty();
        let results = buckets(&q.scope.range, q.scope.tz, q.interval)
            .into_iter()
            .map(|b| {
                let id = b.id.to_string();
                let e = events.get(&id).copied().unwrap_or_default();
                let s = sessions.get(&id).copied().unwrap_or_default();
                TimeseriesPoint {
                    date: b.label,
                    values: values(&q.metrics, &e, &s, visits_from_sessions),
                }
            })
            .collect();
        Ok(TimeseriesResult { results })
    }

    /// `GET /api/v1/stats/breakdown`.
    pub async fn breakdown(&self, q: &StatsQuery) -> Result<BreakdownResult, QueryError> {
        let Some(property) = q.dimension.clone() else {
            return Err(QueryError::param("property", "missing"));
        };
        let goals = self.goals_for(q).await?;
        if property == Property::Goal {
            return self.goal_breakdown(q, &goals).await;
        }
        // Visitor-constant properties (country, device, …) group single events unless visit metrics are asked.
        let sessions =
            property.needs_sessions() || (property.is_visit() && needs_sessions(&q.metrics));
        let plan = StatsPlan {
            scope: &q.scope,
            goals: &goals,
            grouping: Grouping::Property(property.clone()),
            order: if sessions {
                q.metrics[0]
            } else {
                event_order(&q.metrics)
            },
            page: Some(q.pagination),
            keys: None,
        };
        let mut rows = self.run(&plan, sessions).await?;
        self.fill_conversion_base(&plan, sessions, &mut rows, &q.metrics)
            .await?;
        let entries =
            if property == Property::Page && needs_sessions(&q.metrics) && !rows.is_empty() {
                self.entry_totals(&plan, &rows).await?
            } else {
                HashMap::new()
            };
        let key = property.result_key();
        let results = rows
            .into_iter()
            .map(|(value, e)| {
                let s = if sessions {
                    e
                } else {
                    entries.get(&value).copied().unwrap_or_default()
                };
                BreakdownRow {
                    key: key.clone(),
                    values: values(&q.metrics, &e, &s, sessions),
                    value: label(&property, value),
                }
            })
            .collect();
        Ok(BreakdownResult { results })
    }

    /// Visit totals of the visits that entered on each of the pages in `rows` (bounce rate and duration of a page).
    async fn entry_totals(
        &self,
        plan: &StatsPlan<'_>,
        rows: &Rows,
    ) -> Result<HashMap<String, Totals>, QueryError> {
        let by_entry = StatsPlan {
            grouping: Grouping::Property(Property::EntryPage),
            page: None,
            keys: Some(rows.iter().map(|(k, _)| k.clone()).collect()),
            ..plan.clone()
        };
        Ok(self.run(&by_entry, true).await?.into_iter().collect())
    }
}

/// How an empty visit property is shown.
fn label(property: &Property, value: String) -> String {
    match (property, value.is_empty()) {
        (Property::Source, true) => "Direct / None".into(),
        (p, true) if p.is_visit() => "(not set)".into(),
        _ => value,
    }
}
