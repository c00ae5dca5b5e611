//! Typed results, serialised in the shapes of Plausible's Stats API v1 and of our own endpoints.

use crate::metric::{Metric, MetricValue};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Metric values of one row, in the order the metrics were asked for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Values(pub Vec<(Metric, MetricValue)>);

impl Values {
    pub fn get(&self, metric: Metric) -> Option<MetricValue> {
        self.0.iter().find(|(m, _)| *m == metric).map(|(_, v)| *v)
    }

    fn write<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        self.0
            .iter()
            .try_for_each(|(m, v)| map.serialize_entry(m.name(), v))
    }
}

/// A whole number as an integer, anything else as a float (`10` not `10.0`).
fn number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 9e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::from(v)
    }
}

/// `{"results": {"visitors": {"value": 10, "change": 5}, …}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateResult {
    pub values: Values,
    /// Per metric, the change against the previous period when asked for (`None` where
    /// a value is `null`: shown as `"change": null`).
    pub changes: Option<Vec<Option<f64>>>,
}

#[derive(Serialize)]
struct AggregateEntry {
    value: MetricValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<serde_json::Value>,
}

/// The `results` object, metrics in the order asked for.
struct AggregateMap<'a>(&'a AggregateResult);

impl Serialize for AggregateMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.values.0.len()))?;
        for (i, (metric, value)) in self.0.values.0.iter().enumerate() {
            let change = self
                .0
                .changes
                .as_ref()
                .and_then(|c| c.get(i))
                .map(|c| c.map_or(serde_json::Value::Null, number));
            map.serialize_entry(
                metric.name(),
                &AggregateEntry {
                    value: *value,
                    change,
                },
            )?;
        }
        map.end()
    }
}

impl Serialize for AggregateResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("results", &AggregateMap(self))?;
        map.end()
    }
}

/// One bucket of a timeseries.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeseriesPoint {
    pub date: String,
    pub values: Values,
}

impl Serialize for TimeseriesPoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("date", &self.date)?;
        self.values.write(&mut map)?;
        map.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeseriesResult {
    pub results: Vec<TimeseriesPoint>,
}

/// One value of a breakdown; serialised with the property's key (`{"page": "/", "visitors": 3}`).
#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownRow {
    pub key: String,
    pub value: String,
    pub values: Values,
}

impl Serialize for BreakdownRow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(&self.key, &self.value)?;
        self.values.write(&mut map)?;
        map.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownResult {
    pub results: Vec<BreakdownRow>,
}

impl BreakdownResult {
    /// The row whose property value is `value`.
    pub fn row(&self, value: &str) -> Option<&BreakdownRow> {
        self.results.iter().find(|r| r.value == value)
    }
}

/// One funnel step; rates in percent with two decimals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStepResult {
    pub step: u32,
    pub label: String,
    pub visitors: u64,
    /// Of the visitors who did step 1.
    pub conversion_rate: f64,
    pub conversion_rate_from_previous: f64,
    /// Visitors of the previous step who did not reach this one.
    pub dropoff: u64,
    pub dropoff_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelBreakdownRow {
    pub value: String,
    pub steps: Vec<FunnelStepResult>,
    pub conversion_rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelResult {
    pub steps: Vec<FunnelStepResult>,
    /// Last step's visitors of step 1's, percent.
    pub conversion_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Vec<FunnelBreakdownRow>>,
}

/// Pageviews on `to`'s page `page` referred from a page of `from`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub from: String,
    pub to: String,
    pub page: String,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowsResult {
    pub results: Vec<Flow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchTermResult {
    pub term: String,
    pub searches: u64,
    pub visitors: u64,
    pub zero_results: u64,
    pub zero_result_rate: f64,
    pub exit_rate: f64,
    pub refinement_rate: f64,
    /// Percent change in searches against the previous period, when comparing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchTermsResult {
    pub results: Vec<SearchTermResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextPage {
    pub page: String,
    pub visits: u64,
    pub visitors: u64,
}

/// What visits did after searching a term.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchAfterResult {
    pub term: String,
    /// Visits with at least one search for the term.
    pub visits: u64,
    pub visitors: u64,
    /// Visits with a goal conversion at or after the first search for the term.
    pub converted_visits: u64,
    pub converted_visitors: u64,
    /// `converted_visits` of `visits`, percent.
    pub conversion_rate: f64,
    /// The first non-search page opened after the search; `(none)` for visits that opened none.
    pub pages: Vec<NextPage>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalValueRow {
    pub goal: String,
    pub id: String,
    pub conversions: u64,
    pub converters: u64,
    /// Converters of all visitors, percent.
    pub conversion_rate: f64,
    pub value_eur: f64,
    pub hours_saved: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalValueTotals {
    pub visitors: u64,
    pub conversions: u64,
    /// Visitors who converted on any goal (each counted once).
    pub converters: u64,
    pub conversion_rate: f64,
    pub value_eur: f64,
    pub hours_saved: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GoalValueResult {
    pub results: Vec<GoalValueRow>,
    pub totals: GoalValueTotals,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_shapes() {
        let values = Values(vec![
            (Metric::Visitors, MetricValue::Int(3)),
            (Metric::ViewsPerVisit, MetricValue::Float(1.5)),
        ]);
        let agg = AggregateResult {
            values: values.clone(),
            changes: Some(vec![Some(50.0), Some(-2.5)]),
        };
        assert_eq!(
            serde_json::to_string(&agg).unwrap(),
            r#"{"results":{"visitors":{"value":3,"change":50},"views_per_visit":{"value":1.5,"change":-2.5}}}"#
        );
        let engagement = AggregateResult {
            values: Values(vec![
                (Metric::ScrollDepth, MetricValue::Int(62)),
                (Metric::TimeOnPage, MetricValue::Null),
            ]),
            changes: Some(vec![Some(12.0), None]),
        };
        assert_eq!(
            serde_json::to_string(&engagement).unwrap(),
            r#"{"results":{"scroll_depth":{"value":62,"change":12},"time_on_page":{"value":null,"change":null}}}"#
        );
        let row = BreakdownRow {
            key: "page".into(),
            value: "/".into(),
            values: values.clone(),
        };
        assert_eq!(
            serde_json::to_string(&BreakdownResult { results: vec![row] }).unwrap(),
            r#"{"results":[{"page":"/","visitors":3,"views_per_visit":1.5}]}"#
        );
        let point = TimeseriesPoint {
            date: "2026-11-01".into(),
            values,
        };
        assert_eq!(
            serde_json::to_string(&point).unwrap(),
            r#"{"date":"2026-11-01","visitors":3,"views_per_visit":1.5}"#
        );
    }
}
