//! Aggregate, timeseries, breakdown and realtime: which statements run, and how their rows merge.
//!
//! Every metric has a [`Source`]: visit-level metrics (visits, bounce rate, visit duration,
//! views per visit) come from `session_stats`, over the visits that started in the range;
//! event-level metrics (pageviews, events) from `event_stats`, over the events in the range.
//! `visitors` follows what is being counted: the visitors of the visits for totals without
//! event filters and for `visit:*` breakdowns, the visitors with a matching event for
//! event filters and event breakdowns. `scroll_depth` and `time_on_page` come from
//! `engagement_stats`, over the engagement events in the range (page-level metrics: the
//! parameters allow them only per page). A query runs at most one statement per source
//! (plus the conversion-rate base), never one per metric.

use super::rollup::{add, day_groups, order_and_page};
use super::QueryEngine;
use crate::metric::{change, Metric, Totals};
use crate::params::check_engagement_metrics;
use crate::period::buckets;
use crate::property::Property;
use crate::query::{RealtimeQuery, Scope, StatsQuery};
use crate::results::*;
use crate::sql::engagement::{engagement_stats, EngagementRow};
use crate::sql::rollup::{rollup_stats, stats_dimension};
use crate::sql::stats::{
    event_stats, realtime_breakdown, realtime_visitors, session_stats, Distinct, Grouping,
    RealtimeDimension, StatsPlan, StatsRow,
};
use crate::QueryError;
use luister_store::Goal;
use std::collections::HashMap;

type Rows = Vec<(String, Totals)>;

/// Which statement a metric's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Events,
    Sessions,
    Engagement,
}

impl Source {
    fn of(metric: Metric, dimension: Option<&Property>, event_filtered: bool) -> Self {
        let event_dimension = dimension.is_some_and(|p| !p.is_visit());
        match metric {
            Metric::ScrollDepth | Metric::TimeOnPage => Self::Engagement,
            Metric::Pageviews | Metric::Events => Self::Events,
            // Per page: the visits with an event on it.
            Metric::Visits if event_dimension => Self::Events,
            Metric::Visitors | Metric::ConversionRate => match dimension {
                Some(p) if p.is_visit() => Self::Sessions,
                Some(_) => Self::Events,
                None if event_filtered => Self::Events,
                None => Self::Sessions,
            },
            // By page, bounce rate, duration and views per visit are those of the visits
            // that entered on it (see `entry_totals`).
            Metric::Visits | Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit => {
                Self::Sessions
            }
        }
    }

    /// The other of events and sessions (engagement is never the primary source).
    fn other(self) -> Self {
        match self {
            Self::Events => Self::Sessions,
            Self::Sessions | Self::Engagement => Self::Events,
        }
    }
}

/// How metrics of one query map to sources.
struct Sources<'a> {
    metrics: &'a [Metric],
    dimension: Option<&'a Property>,
    event_filtered: bool,
}

impl Sources<'_> {
    fn of(&self, metric: Metric) -> Source {
        Source::of(metric, self.dimension, self.event_filtered)
    }

    fn needs(&self, source: Source) -> bool {
        self.metrics.iter().any(|m| self.of(*m) == source)
    }

    fn conversion(&self) -> bool {
        self.metrics.contains(&Metric::ConversionRate)
    }

    /// The distinct counts `source` must compute for this query's metrics.
    fn distinct(&self, source: Source) -> Distinct {
        let from = |wanted: &[Metric]| {
            self.metrics
                .iter()
                .any(|m| wanted.contains(m) && self.of(*m) == source)
        };
        Distinct {
            visitors: from(&[Metric::Visitors, Metric::ConversionRate]),
            visits: from(&[Metric::Visits]),
        }
    }

    /// The values of one row from the totals of each source; `base` is the conversion-rate base.
    fn values(&self, events: Totals, sessions: Totals, engagement: Totals, base: u64) -> Values {
        let mut sides = [events, sessions, engagement];
        let side = |source: Source| match source {
            Source::Events => 0,
            Source::Sessions => 1,
            Source::Engagement => 2,
        };
        sides[side(self.of(Metric::Visitors))].all_visitors = base;
        Values(
            self.metrics
                .iter()
                .map(|m| (*m, sides[side(self.of(*m))].value(*m)))
                .collect(),
        )
    }
}

fn totals(row: &StatsRow) -> Totals {
    Totals {
        visitors: row.visitors,
        visits: row.visits,
        pageviews: row.pageviews,
        events: row.events,
        bounces: row.bounces,
        duration_sum: row.duration_sum,
        ..Totals::default()
    }
}

fn engagement_totals(row: &EngagementRow) -> Totals {
    Totals {
        scroll_depth_sum: row.scroll_depth_sum,
        scroll_depth_visits: row.scroll_depth_visits,
        engaged_ms_sum: row.engaged_ms_sum,
        engaged_visits: row.engaged_visits,
        ..Totals::default()
    }
}

/// The first metric that event totals can order by.
fn event_order(metrics: &[Metric]) -> Metric {
    match metrics.first() {
        Some(m @ (Metric::Visits | Metric::Pageviews | Metric::Events)) => *m,
        _ => Metric::Visitors,
    }
}

impl QueryEngine {
    /// `GET /api/v1/stats/realtime/visitors`.
    pub async fn realtime_visitors(&self, q: &RealtimeQuery) -> Result<u64, QueryError> {
        let now = crate::query::secs(q.now);
        let sql = realtime_visitors(&q.site.domain, now);
        self.fetch_one::<u64>(&sql).await
    }

    /// Visitors per page or per source in the last five minutes, most first (at most `limit`).
    pub async fn realtime_breakdown(
        &self,
        q: &RealtimeQuery,
        dimension: RealtimeDimension,
        limit: u32,
    ) -> Result<Vec<(String, u64)>, QueryError> {
        #[derive(clickhouse::Row, serde::Deserialize)]
        struct Row {
            value: String,
            visitors: u64,
        }
        let now = crate::query::secs(q.now);
        let rows: Vec<Row> = self
            .fetch(&realtime_breakdown(&q.site.domain, now, dimension, limit))
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let value = match dimension {
                    RealtimeDimension::Source => label(&Property::Source, r.value),
                    RealtimeDimension::Page => r.value,
                };
                (value, r.visitors)
            })
            .collect())
    }

    /// Goals of the site when a filter or breakdown refers to them.
    async fn goals_for(&self, q: &StatsQuery) -> Result<Vec<Goal>, QueryError> {
        if q.scope.has_goal_filter() || q.dimension == Some(Property::Goal) {
            self.goals(&q.scope.site.domain).await
        } else {
            Ok(Vec::new())
        }
    }

    /// Runs `plan` on `source`, computing the distinct counts that `sources` need.
    async fn run(
        &self,
        plan: &StatsPlan<'_>,
        sources: &Sources<'_>,
        source: Source,
    ) -> Result<Rows, QueryError> {
        let plan = StatsPlan {
            distinct: sources.distinct(source),
            ..plan.clone()
        };
        self.run_plan(&plan, source).await
    }

    async fn run_plan(&self, plan: &StatsPlan<'_>, source: Source) -> Result<Rows, QueryError> {
        if let Some(rows) = self.stats_from_rollups(plan, source).await? {
            return Ok(rows);
        }
        let sql = match source {
            Source::Events => event_stats(plan),
            Source::Sessions => session_stats(plan),
            Source::Engagement => {
                let rows: Vec<EngagementRow> = self.fetch(&engagement_stats(plan)).await?;
                return Ok(rows
                    .iter()
                    .map(|r| (r.key.clone(), engagement_totals(r)))
                    .collect());
            }
        };
        let rows: Vec<StatsRow> = self.fetch(&sql).await?;
        Ok(rows.iter().map(|r| (r.key.clone(), totals(r))).collect())
    }

    /// `plan` on `source` from the rollups plus the visits they do not cover yet, when the
    /// rollups hold the answer (see `engine::rollup`); the same rows the raw statement gives.
    async fn stats_from_rollups(
        &self,
        plan: &StatsPlan<'_>,
        source: Source,
    ) -> Result<Option<Rows>, QueryError> {
        let from_sessions = match source {
            Source::Events => false,
            Source::Sessions => true,
            Source::Engagement => return Ok(None),
        };
        let Some(dimension) = stats_dimension(plan, from_sessions) else {
            return Ok(None);
        };
        let Some(coverage) = self.coverage(plan.scope).await? else {
            return Ok(None);
        };
        let Some(selection) =
            day_groups(plan.scope, &plan.grouping).and_then(|g| coverage.select(&g))
        else {
            return Ok(None);
        };
        let mut merged: HashMap<String, Totals> = HashMap::new();
        if !selection.pairs.is_empty() {
            let rows: Vec<StatsRow> = self
                .fetch(&rollup_stats(plan, dimension, &selection))
                .await?;
            for r in &rows {
                add(merged.entry(r.key.clone()).or_default(), &totals(r));
            }
        }
        if let Some(from) = coverage.raw_from {
            let scope = Scope {
                visits_from: Some(from),
                ..plan.scope.clone()
            };
            let raw = StatsPlan {
                scope: &scope,
                page: None,
                distinct: Distinct {
                    visitors: plan.distinct.visitors(plan),
                    visits: plan.distinct.visits(plan),
                },
                ..plan.clone()
            };
            let sql = if from_sessions {
                session_stats(&raw)
            } else {
                event_stats(&raw)
            };
            let rows: Vec<StatsRow> = self.fetch(&sql).await?;
            for r in &rows {
                add(merged.entry(r.key.clone()).or_default(), &totals(r));
            }
        }
        let mut rows: Rows = merged.into_iter().collect();
        if plan.grouping == Grouping::Total {
            if rows.is_empty() {
                rows.push((String::new(), Totals::default()));
            }
            return Ok(Some(rows));
        }
        rows.retain(|(key, t)| {
            (!from_sessions || t.visits > 0)
                && plan.keys.as_ref().is_none_or(|keys| keys.contains(key))
        });
        order_and_page(&mut rows, plan.order, plan.page);
        Ok(Some(rows))
    }

    /// Runs `plan` on `source` when some metric needs it; rows by key.
    async fn run_if(
        &self,
        plan: &StatsPlan<'_>,
        sources: &Sources<'_>,
        source: Source,
    ) -> Result<HashMap<String, Totals>, QueryError> {
        if !sources.needs(source) {
            return Ok(HashMap::new());
        }
        Ok(self.run(plan, sources, source).await?.into_iter().collect())
    }

    /// Visitors per key without goal filters (the base of `conversion_rate`), counted as
    /// `visitors` is for this query; only for `keys` when grouped.
    async fn conversion_base(
        &self,
        plan: &StatsPlan<'_>,
        sources: &Sources<'_>,
        keys: Option<Vec<String>>,
    ) -> Result<HashMap<String, u64>, QueryError> {
        if !sources.conversion() {
            return Ok(HashMap::new());
        }
        let scope = plan.scope.without_goal_filters();
        let source = Source::of(
            Metric::Visitors,
            sources.dimension,
            scope.has_event_filter(),
        );
        let base = StatsPlan {
            scope: &scope,
            page: None,
            keys,
            distinct: Distinct {
                visitors: true,
                visits: false,
            },
            ..plan.clone()
        };
        Ok(self
            .run_plan(&base, source)
            .await?
            .into_iter()
            .map(|(k, t)| (k, t.visitors))
            .collect())
    }

    async fn aggregate_values(
        &self,
        scope: &Scope,
        goals: &[Goal],
        metrics: &[Metric],
    ) -> Result<Values, QueryError> {
        let sources = Sources {
            metrics,
            dimension: None,
            event_filtered: scope.has_event_filter(),
        };
        let plan = StatsPlan {
            scope,
            goals,
            grouping: Grouping::Total,
            order: Metric::Visitors,
            page: None,
            keys: None,
            distinct: Distinct::ALL,
        };
        let mut events = self.run_if(&plan, &sources, Source::Events).await?;
        let mut sessions = self.run_if(&plan, &sources, Source::Sessions).await?;
        let mut engagement = self.run_if(&plan, &sources, Source::Engagement).await?;
        let base = self.conversion_base(&plan, &sources, None).await?;
        let total = |rows: &mut HashMap<String, Totals>| rows.remove("").unwrap_or_default();
        let base = base.get("").copied().unwrap_or(0);
        Ok(sources.values(
            total(&mut events),
            total(&mut sessions),
            total(&mut engagement),
            base,
        ))
    }

    /// `GET /api/v1/stats/aggregate`.
    pub async fn aggregate(&self, q: &StatsQuery) -> Result<AggregateResult, QueryError> {
        check_engagement_metrics(q)?;
        let goals = self.goals_for(q).await?;
        let now = self.aggregate_values(&q.scope, &goals, &q.metrics).await?;
        let changes = if let Some(comparison) = q.compare {
            let before = self
                .aggregate_values(&q.scope.compared(comparison), &goals, &q.metrics)
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

    /// `GET /api/v1/stats/timeseries`: every bucket of the range, zeros included. Visits
    /// count in the bucket in which they started, events in the one in which they happened.
    pub async fn timeseries(&self, q: &StatsQuery) -> Result<TimeseriesResult, QueryError> {
        check_engagement_metrics(q)?;
        let goals = self.goals_for(q).await?;
        let sources = Sources {
            metrics: &q.metrics,
            dimension: None,
            event_filtered: q.scope.has_event_filter(),
        };
        let plan = StatsPlan {
            scope: &q.scope,
            goals: &goals,
            grouping: Grouping::Bucket(q.interval),
            order: Metric::Visitors,
            page: None,
            keys: None,
            distinct: Distinct::ALL,
        };
        let events = self.run_if(&plan, &sources, Source::Events).await?;
        let sessions = self.run_if(&plan, &sources, Source::Sessions).await?;
        let engagement = self.run_if(&plan, &sources, Source::Engagement).await?;
        let base = self.conversion_base(&plan, &sources, None).await?;
        let results = buckets(&q.scope.range, q.scope.tz, q.interval)
            .into_iter()
            .map(|b| {
                let id = b.id.to_string();
                let get = |rows: &HashMap<String, Totals>| rows.get(&id).copied();
                TimeseriesPoint {
                    date: b.label,
                    values: sources.values(
                        get(&events).unwrap_or_default(),
                        get(&sessions).unwrap_or_default(),
                        get(&engagement).unwrap_or_default(),
                        base.get(&id).copied().unwrap_or(0),
                    ),
                }
            })
            .collect();
        Ok(TimeseriesResult { results })
    }

    /// `GET /api/v1/stats/breakdown`: one page of values ordered by the first metric (by
    /// the first event-level one for event properties), then the other source's totals
    /// for just those values.
    pub async fn breakdown(&self, q: &StatsQuery) -> Result<BreakdownResult, QueryError> {
        let Some(property) = q.dimension.clone() else {
            return Err(QueryError::param("property", "missing"));
        };
        check_engagement_metrics(q)?;
        let goals = self.goals_for(q).await?;
        if property == Property::Goal {
            return self.goal_breakdown(q, &goals).await;
        }
        let sources = Sources {
            metrics: &q.metrics,
            dimension: Some(&property),
            event_filtered: q.scope.has_event_filter(),
        };
        let (primary, order) = if property.is_visit() {
            (sources.of(q.metrics[0]), q.metrics[0])
        } else {
            (Source::Events, event_order(&q.metrics))
        };
        let plan = StatsPlan {
            scope: &q.scope,
            goals: &goals,
            grouping: Grouping::Property(property.clone()),
            order,
            page: Some(q.pagination),
            keys: None,
            distinct: Distinct::ALL,
        };
        let rows = self.run(&plan, &sources, primary).await?;
        let keys: Vec<String> = rows.iter().map(|(k, _)| k.clone()).collect();
        let others = if rows.is_empty() || !sources.needs(primary.other()) {
            HashMap::new()
        } else if property.is_visit() {
            let by_keys = StatsPlan {
                page: None,
                keys: Some(keys.clone()),
                ..plan.clone()
            };
            self.run(&by_keys, &sources, primary.other())
                .await?
                .into_iter()
                .collect()
        } else if property == Property::Page {
            self.entry_totals(&plan, &keys).await?
        } else {
            HashMap::new()
        };
        // Engagement of just the pages of this page (only `event:page` gets here with them).
        let engagement = if rows.is_empty() || !sources.needs(Source::Engagement) {
            HashMap::new()
        } else {
            let by_keys = StatsPlan {
                page: None,
                keys: Some(keys.clone()),
                ..plan.clone()
            };
            self.run_plan(&by_keys, Source::Engagement)
                .await?
                .into_iter()
                .collect()
        };
        let base = if rows.is_empty() {
            HashMap::new()
        } else {
            self.conversion_base(&plan, &sources, Some(keys)).await?
        };
        let key = property.result_key();
        let results = rows
            .into_iter()
            .map(|(value, t)| {
                let other = others.get(&value).copied().unwrap_or_default();
                let (events, sessions) = match primary {
                    Source::Sessions => (other, t),
                    Source::Events | Source::Engagement => (t, other),
                };
                let engaged = engagement.get(&value).copied().unwrap_or_default();
                let base = base.get(&value).copied().unwrap_or(0);
                BreakdownRow {
                    key: key.clone(),
                    values: sources.values(events, sessions, engaged, base),
                    value: label(&property, value),
                }
            })
            .collect();
        Ok(BreakdownResult { results })
    }

    /// Visit totals of the visits that entered on each of the pages `keys` (bounce rate and duration of a page).
    async fn entry_totals(
        &self,
        plan: &StatsPlan<'_>,
        keys: &[String],
    ) -> Result<HashMap<String, Totals>, QueryError> {
        let by_entry = StatsPlan {
            grouping: Grouping::Property(Property::EntryPage),
            page: None,
            keys: Some(keys.to_vec()),
            distinct: Distinct::NONE,
            ..plan.clone()
        };
        Ok(self
            .run_plan(&by_entry, Source::Sessions)
            .await?
            .into_iter()
            .collect())
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
