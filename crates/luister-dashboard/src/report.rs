//! The state of a report view, kept entirely in its URL (`period`, `date`, `compare`,
//! `filters`, and a page's own keys), so a view can be bookmarked and sent to a colleague;
//! and the report tables built from engine results.
//!
//! The parameter names and the filter syntax are those of the stats API
//! (`filters=event:page==/schulden;visit:source==Google`): the URL of a page is the API
//! query of its numbers.

use crate::chart;
use crate::format;
use crate::i18n::{Lang, Text};
use luister_query::results::BreakdownResult;
use luister_query::{Metric, Params};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Keys a report URL may carry; anything else in the query is ignored.
const STATE_KEYS: &[&str] = &[
    "period",
    "date",
    "compare",
    "filters",
    "term",
    "funnel",
    "breakdown",
];

/// Characters left readable in the URLs we write (`/` and `:` make paths and filters legible).
const URL_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/')
    .remove(b':');

fn enc(text: &str) -> String {
    utf8_percent_encode(text, URL_SAFE).to_string()
}

/// One filter as shown in a chip.
pub struct Chip {
    pub label: String,
    pub remove_href: String,
}

/// A period choice in the picker.
pub struct PeriodLink {
    pub label: &'static str,
    pub value: &'static str,
    pub href: String,
    pub current: bool,
}

/// The view state of a report page.
#[derive(Debug, Clone)]
pub struct ReportState {
    path: String,
    params: Vec<(String, String)>,
}

impl ReportState {
    /// The state in `query` (already decoded), for the page at `path`.
    pub fn new(path: &str, query: &Params) -> Self {
        let mut params: Vec<(String, String)> = STATE_KEYS
            .iter()
            .filter_map(|k| {
                query
                    .get(*k)
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .map(|v| (k.to_string(), v.to_string()))
            })
            .collect();
        params.sort();
        Self {
            path: path.to_string(),
            params,
        }
    }

    /// The page's path (without the query).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The engine's parameters: this state plus `extra` (which wins).
    pub fn query(&self, extra: &[(&str, &str)]) -> Params {
        let mut params: Params = self.params.iter().cloned().collect();
        for (k, v) in extra {
            params.insert(k.to_string(), v.to_string());
        }
        params
    }

    /// A link to `path` with this state changed by `changes` (`None` removes a key).
    pub fn href_at(&self, path: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut params = self.params.clone();
        for (key, value) in changes {
            params.retain(|(k, _)| k != key);
            if let Some(v) = value {
                params.push((key.to_string(), v.to_string()));
            }
        }
        params.sort();
        if params.is_empty() {
            return path.to_string();
        }
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        format!("{path}?{}", query.join("&"))
    }

    /// A link to this page with `changes`.
    pub fn href(&self, changes: &[(&str, Option<&str>)]) -> String {
        self.href_at(&self.path, changes)
    }

    /// The current filters as `(property, operator, value)`.
    pub fn filters(&self) -> Vec<(String, &'static str, String)> {
        self.get("filters")
            .unwrap_or("")
            .split(';')
            .filter_map(|f| {
                let (prop, op, value) = if let Some((p, v)) = f.split_once("!=") {
                    (p, "!=", v)
                } else {
                    let (p, v) = f.split_once("==")?;
                    (p, "==", v)
                };
                Some((prop.trim().to_string(), op, value.trim().to_string()))
            })
            .collect()
    }

    fn filters_text(filters: &[(String, &'static str, String)]) -> Option<String> {
        (!filters.is_empty()).then(|| {
            filters
                .iter()
                .map(|(p, op, v)| format!("{p}{op}{v}"))
                .collect::<Vec<_>>()
                .join(";")
        })
    }

    /// A link that adds the filter `property == value` (replacing one on the same property).
    pub fn with_filter(&self, property: &str, value: &str) -> Option<String> {
        if value.contains([';', '|']) || value.is_empty() {
            return None;
        }
        let mut filters = self.filters();
        filters.retain(|(p, _, _)| p != property);
        filters.push((property.to_string(), "==", value.to_string()));
        Some(self.href(&[("filters", Self::filters_text(&filters).as_deref())]))
    }

    /// One chip per filter, each with a link that removes it.
    pub fn chips(&self, t: &Text) -> Vec<Chip> {
        let filters = self.filters();
        filters
            .iter()
            .enumerate()
            .map(|(i, (prop, op, value))| {
                let rest: Vec<_> = filters
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, f)| f.clone())
                    .collect();
                let verb = if *op == "==" { "=" } else { "≠" };
                Chip {
                    label: format!("{} {verb} {value}", property_label(prop, t)),
                    remove_href: self.href(&[("filters", Self::filters_text(&rest).as_deref())]),
                }
            })
            .collect()
    }

    /// The period picker's links.
    pub fn periods(&self, t: &Text) -> Vec<PeriodLink> {
        let current = self.get("period").unwrap_or("30d");
        [
            (t.today, "day"),
            (t.last_7_days, "7d"),
            (t.last_30_days, "30d"),
            (t.this_month, "month"),
            (t.last_6_months, "6mo"),
            (t.last_12_months, "12mo"),
        ]
        .into_iter()
        .map(|(label, value)| PeriodLink {
            label,
            value,
            href: self.href(&[("period", Some(value)), ("date", None)]),
            current: current == value,
        })
        .collect()
    }

    /// The comparison in force: `previous_period` or `year_over_year`.
    pub fn comparison(&self) -> Option<&str> {
        self.get("compare")
            .filter(|c| matches!(*c, "previous_period" | "year_over_year"))
    }

    /// The custom range's dates, for the form (`from`, `to`).
    pub fn custom_dates(&self) -> (String, String) {
        match (
            self.get("period"),
            self.get("date").and_then(|d| d.split_once(',')),
        ) {
            (Some("custom"), Some((a, b))) => (a.to_string(), b.to_string()),
            _ => (String::new(), String::new()),
        }
    }
}

/// The period picker, custom range form, comparison switch and filter chips of a page.
pub struct Toolbar {
    pub periods: Vec<PeriodLink>,
    pub path: String,
    /// State the custom-range form must carry along (filters, comparison, …).
    pub hidden: Vec<(String, String)>,
    pub custom_from: String,
    pub custom_to: String,
    /// The comparison choices: label, link, chosen.
    pub comparisons: Vec<(&'static str, String, bool)>,
    pub chips: Vec<Chip>,
}

impl ReportState {
    pub fn toolbar(&self, t: &Text) -> Toolbar {
        let (custom_from, custom_to) = self.custom_dates();
        let current = self.comparison();
        Toolbar {
            periods: self.periods(t),
            path: self.path.clone(),
            hidden: self
                .params
                .iter()
                .filter(|(k, _)| k != "period" && k != "date")
                .cloned()
                .collect(),
            custom_from,
            custom_to,
            comparisons: [
                (t.no_comparison, None),
                (t.compare_previous, Some("previous_period")),
                (t.compare_year, Some("year_over_year")),
            ]
            .into_iter()
            .map(|(label, value)| (label, self.href(&[("compare", value)]), current == value))
            .collect(),
            chips: self.chips(t),
        }
    }

    /// The canonical URL of a custom-range form answer (`van`, `tot` → `date=van,tot`).
    pub fn custom_range_redirect(&self, query: &Params) -> Option<String> {
        let from = query.get("van")?;
        let to = query.get("tot")?;
        let date = format!("{},{}", from.trim(), to.trim());
        Some(self.href(&[("period", Some("custom")), ("date", Some(&date))]))
    }
}

/// A property's name in the user's language, for chips and table headers.
pub fn property_label(property: &str, t: &Text) -> String {
    let label = match property {
        "event:page" => t.page,
        "visit:entry_page" => t.entry_pages,
        "visit:exit_page" => t.exit_pages,
        "visit:source" => t.sources,
        "visit:channel" => t.channels,
        "visit:utm_campaign" => t.campaigns,
        "visit:country" => t.countries,
        "visit:region" => t.regions,
        "visit:city" => t.cities,
        "visit:device" => t.devices,
        "visit:browser" => t.browsers,
        "visit:os" => t.operating_systems,
        "event:goal" => t.goal,
        other => return other.to_string(),
    };
    label.to_string()
}

/// One row of a report table.
pub struct ReportRow {
    pub label: String,
    /// Link that adds this row's value as a filter (`None` when it cannot be a filter).
    pub filter_href: Option<String>,
    /// Formatted values, one per column.
    pub cells: Vec<String>,
    pub share_bar: String,
}

/// A report table: caption, column headers, rows and its CSV link.
pub struct ReportTable {
    pub id: String,
    pub title: String,
    pub key_header: String,
    pub headers: Vec<String>,
    /// Metric name per column, for `data-metric` (tests read pages by it).
    pub metrics: Vec<&'static str>,
    pub rows: Vec<ReportRow>,
    pub csv_href: String,
}

/// What a report table shows: which breakdown, which metrics, under which title.
pub struct TableSpec<'a> {
    pub id: &'a str,
    pub title: &'a str,
    /// The API property (`event:page`, `visit:source`, …).
    pub property: &'a str,
    /// Metrics with their column headers.
    pub metrics: &'a [(Metric, &'static str)],
    /// Path of the CSV export of this page.
    pub csv_path: &'a str,
}

/// A breakdown result as a report table; the first metric sizes the share bars.
pub fn breakdown_table(
    spec: &TableSpec,
    result: &BreakdownResult,
    state: &ReportState,
    lang: Lang,
) -> ReportTable {
    let TableSpec {
        id,
        title,
        property,
        metrics,
        csv_path,
    } = *spec;
    let t = lang.text();
    let first = metrics.first().map(|m| m.0);
    let max = result
        .results
        .iter()
        .filter_map(|r| first.and_then(|m| r.values.get(m)).and_then(|v| v.as_f64()))
        .fold(0.0, f64::max);
    let rows = result
        .results
        .iter()
        .map(|row| {
            let cells = metrics
                .iter()
                .map(|(m, _)| metric_text(*m, row.values.get(*m).and_then(|v| v.as_f64()), lang))
                .collect();
            let lead = first
                .and_then(|m| row.values.get(m))
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            ReportRow {
                label: row.value.clone(),
                filter_href: state.with_filter(property, &row.value),
                cells,
                share_bar: chart::share_bar(if max > 0.0 { lead / max } else { 0.0 }),
            }
        })
        .collect();
    ReportTable {
        id: id.to_string(),
        title: title.to_string(),
        key_header: property_label(property, t),
        headers: metrics.iter().map(|(_, h)| h.to_string()).collect(),
        metrics: metrics.iter().map(|(m, _)| m.name()).collect(),
        rows,
        csv_href: state.href_at(csv_path, &[("property", Some(property))]),
    }
}

/// A metric value as shown: counts grouped, rates in percent, durations in minutes.
pub fn metric_text(metric: Metric, value: Option<f64>, lang: Lang) -> String {
    let Some(v) = value else {
        return "–".into();
    };
    match metric {
        Metric::BounceRate | Metric::ConversionRate | Metric::ScrollDepth => {
            format::percent(v, lang)
        }
        Metric::VisitDuration | Metric::TimeOnPage => format::duration(v, lang),
        Metric::ViewsPerVisit => format::decimal(v, 2, lang),
        _ => format::int(v.max(0.0).round() as u64, lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(query: &[(&str, &str)]) -> ReportState {
        let params: Params = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ReportState::new("/sites/a.nl", &params)
    }

    #[test]
    fn filters_are_added_replaced_and_removed() {
        let s = state(&[
            ("period", "7d"),
            ("filters", "visit:source==Google"),
            ("junk", "x"),
        ]);
        assert_eq!(
            s.href(&[]),
            "/sites/a.nl?filters=visit:source%3D%3DGoogle&period=7d"
        );
        let added = s.with_filter("event:page", "/schulden").unwrap();
        assert_eq!(
            added,
            "/sites/a.nl?filters=visit:source%3D%3DGoogle%3Bevent:page%3D%3D/schulden&period=7d"
        );
        let replaced = s.with_filter("visit:source", "Bing").unwrap();
        assert!(replaced.contains("visit:source%3D%3DBing") && !replaced.contains("Google"));
        let chips = s.chips(Lang::Nl.text());
        assert_eq!(chips.len(), 1);
        assert_eq!(chips[0].label, "Bronnen = Google");
        assert_eq!(chips[0].remove_href, "/sites/a.nl?period=7d");
        assert!(s.with_filter("event:page", "a;b").is_none());
    }

    #[test]
    fn periods_reset_custom_dates() {
        let s = state(&[("period", "custom"), ("date", "2026-01-01,2026-01-31")]);
        assert_eq!(s.custom_dates(), ("2026-01-01".into(), "2026-01-31".into()));
        let periods = s.periods(Lang::Nl.text());
        assert!(periods.iter().all(|p| !p.current));
        assert_eq!(periods[1].href, "/sites/a.nl?period=7d");
    }
}
