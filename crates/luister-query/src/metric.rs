//! The metrics of Plausible's v1 API and how their values are computed from totals.
//!
//! SQL returns only additive totals ([`Totals`]); rates, means and rounding happen
//! here, once, so every endpoint rounds alike.
//!
//! `scroll_depth` and `time_on_page` are page-level metrics from `engagement` events (as
//! in Plausible): each is averaged over the *page visits with engagement*, one per visit
//! and page (`uniq(session_id)` per page in Plausible). `scroll_depth`: the mean of each
//! such page visit's deepest scroll, integer percent. `time_on_page`: the engaged time
//! (visible and focused) of those page visits added up, divided by their number, in whole
//! seconds. Both are `null` when there is no engagement data.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    Events,
    ConversionRate,
    ScrollDepth,
    TimeOnPage,
}

const ALL: &[(&str, Metric)] = &[
    ("visitors", Metric::Visitors),
    ("visits", Metric::Visits),
    ("pageviews", Metric::Pageviews),
    ("views_per_visit", Metric::ViewsPerVisit),
    ("bounce_rate", Metric::BounceRate),
    ("visit_duration", Metric::VisitDuration),
    ("events", Metric::Events),
    ("conversion_rate", Metric::ConversionRate),
    ("scroll_depth", Metric::ScrollDepth),
    ("time_on_page", Metric::TimeOnPage),
];

impl Metric {
    pub fn allowed() -> String {
        ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.iter().find(|(n, _)| *n == s).map(|(_, m)| *m)
    }

    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .unwrap_or_default()
    }

    /// Rates whose change between periods is a difference in points, not a percentage.
    fn changes_in_points(self) -> bool {
        matches!(
            self,
            Self::BounceRate | Self::ConversionRate | Self::ScrollDepth
        )
    }

    /// Page-level metrics from `engagement` events: only per page (see the module notes).
    pub fn is_engagement(self) -> bool {
        matches!(self, Self::ScrollDepth | Self::TimeOnPage)
    }
}

/// A metric's value as it appears in JSON: a count, a rounded rate, or `null` (a mean
/// over nothing, e.g. `scroll_depth` of a page without engagement data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    Int(u64),
    Float(f64),
    Null,
}

impl MetricValue {
    /// The value as a number; `None` for `null`.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Self::Int(v) => Some(v as f64),
            Self::Float(v) => Some(v),
            Self::Null => None,
        }
    }
}

/// Additive totals that SQL returns for one row (the whole range, a bucket or a breakdown value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
    pub events: u64,
    pub bounces: u64,
    /// Sum over visits of (last event − first event), seconds.
    pub duration_sum: u64,
    /// Visitors of the same row without the goal filter; the base of `conversion_rate`.
    pub all_visitors: u64,
    /// Sum over page visits with a scroll depth of their deepest scroll, percent.
    pub scroll_depth_sum: u64,
    /// Page visits (one per visit and page) with a scroll depth.
    pub scroll_depth_visits: u64,
    /// Engaged milliseconds of the page visits with engagement.
    pub engaged_ms_sum: u64,
    /// Page visits (one per visit and page) with an engagement event.
    pub engaged_visits: u64,
}

impl Totals {
    /// The value of `metric`, rounded as Plausible does.
    pub fn value(&self, metric: Metric) -> MetricValue {
        match metric {
            Metric::Visitors => MetricValue::Int(self.visitors),
            Metric::Visits => MetricValue::Int(self.visits),
            Metric::Pageviews => MetricValue::Int(self.pageviews),
            Metric::Events => MetricValue::Int(self.events),
            Metric::BounceRate => {
                MetricValue::Int(ratio(self.bounces * 100, self.visits).round() as u64)
            }
            Metric::VisitDuration => {
                MetricValue::Int(ratio(self.duration_sum, self.visits).round() as u64)
            }
            Metric::ViewsPerVisit => MetricValue::Float(round2(ratio(self.pageviews, self.visits))),
            Metric::ConversionRate => MetricValue::Float(percent(self.visitors, self.all_visitors)),
            Metric::ScrollDepth => mean(self.scroll_depth_sum, self.scroll_depth_visits),
            Metric::TimeOnPage => mean(self.engaged_ms_sum, self.engaged_visits * 1000),
        }
    }
}

/// `sum / count` rounded to an integer; `null` when there is nothing to average.
fn mean(sum: u64, count: u64) -> MetricValue {
    if count == 0 {
        MetricValue::Null
    } else {
        MetricValue::Int(ratio(sum, count).round() as u64)
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// `part / whole` in percent with two decimals; 0 when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> f64 {
    round2(ratio(part * 100, whole))
}

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Plausible's `change` against the previous period: integer percent, or points for rates;
/// `None` (JSON `null`) when either value is `null`.
pub fn change(metric: Metric, now: MetricValue, before: MetricValue) -> Option<f64> {
    let (now, before) = (now.as_f64()?, before.as_f64()?);
    if metric.changes_in_points() {
        return Some(round2(now - before));
    }
    Some(percent_change(now, before) as f64)
}

/// Integer percent change; from 0 to something is +100, 0 to 0 is 0.
pub fn percent_change(now: f64, before: f64) -> i64 {
    if before == 0.0 {
        if now > 0.0 {
            100
        } else {
            0
        }
    } else {
        ((now - before) / before * 100.0).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_metrics_round_like_plausible() {
        let t = Totals {
            visitors: 2,
            visits: 3,
            pageviews: 5,
            events: 7,
            bounces: 1,
            duration_sum: 100,
            all_visitors: 3,
            scroll_depth_sum: 185,
            scroll_depth_visits: 3,
            engaged_ms_sum: 125_400,
            engaged_visits: 3,
        };
        assert_eq!(t.value(Metric::BounceRate), MetricValue::Int(33));
        assert_eq!(t.value(Metric::VisitDuration), MetricValue::Int(33));
        assert_eq!(t.value(Metric::ViewsPerVisit), MetricValue::Float(1.67));
        assert_eq!(t.value(Metric::ConversionRate), MetricValue::Float(66.67));
        assert_eq!(
            Totals::default().value(Metric::BounceRate),
            MetricValue::Int(0)
        );
        // 185 / 3 = 61.67 → 62 %; 125.4 s / 3 = 41.8 → 42 s.
        assert_eq!(t.value(Metric::ScrollDepth), MetricValue::Int(62));
        assert_eq!(t.value(Metric::TimeOnPage), MetricValue::Int(42));
        // Without engagement data both are null, not 0.
        assert_eq!(
            Totals::default().value(Metric::ScrollDepth),
            MetricValue::Null
        );
        assert_eq!(
            Totals::default().value(Metric::TimeOnPage),
            MetricValue::Null
        );
        assert_eq!(serde_json::to_string(&MetricValue::Null).unwrap(), "null");
    }

    #[test]
    fn changes() {
        assert_eq!(percent_change(150.0, 100.0), 50);
        assert_eq!(percent_change(5.0, 0.0), 100);
        assert_eq!(percent_change(0.0, 0.0), 0);
        assert_eq!(percent_change(1.0, 3.0), -67);
        assert_eq!(
            change(
                Metric::BounceRate,
                MetricValue::Int(40),
                MetricValue::Int(50)
            ),
            Some(-10.0)
        );
        assert_eq!(
            change(Metric::Visitors, MetricValue::Int(40), MetricValue::Int(50)),
            Some(-20.0)
        );
        assert_eq!(
            change(
                Metric::ScrollDepth,
                MetricValue::Int(62),
                MetricValue::Int(50)
            ),
            Some(12.0)
        );
        assert_eq!(
            change(Metric::TimeOnPage, MetricValue::Int(30), MetricValue::Null),
            None
        );
        assert_eq!(Metric::parse("scroll_depth"), Some(Metric::ScrollDepth));
        assert_eq!(Metric::TimeOnPage.name(), "time_on_page");
        assert!(Metric::allowed().ends_with("scroll_depth, time_on_page"));
        assert_eq!(Metric::parse("bounce_rate"), Some(Metric::BounceRate));
        assert_eq!(Metric::BounceRate.name(), "bounce_rate");
        assert_eq!(Metric::parse("time"), None);
    }
}
