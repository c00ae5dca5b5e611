//! The cycle report as people read it: one view model for the dashboard's Cyclus page, the
//! self-contained HTML file (`luister report --format html`) and Markdown. Numbers go
//! through `format`, charts through `chart`, as on every other page.

use crate::chart;
use crate::format;
use crate::i18n::{Lang, Text};
use askama::Template;
use luister_impact::report::Figure;
use luister_impact::CycleReport;

/// A figure as a table row: name, now, before, change, significance.
pub struct FigureRow {
    pub name: String,
    pub value: String,
    pub previous: String,
    pub change: String,
    pub significance: String,
    pub significant: bool,
}

/// A table of movers: its title and rows of (value, visitors, change).
pub type MoverTable = (String, Vec<(String, String, String)>);

/// Everything the report shows, formatted.
pub struct ReportView {
    pub site: String,
    pub period: String,
    pub previous_period: String,
    pub has_data: bool,
    pub chart_svg: String,
    pub chart_rows: Vec<(String, String, String)>,
    pub headline: Vec<FigureRow>,
    pub goals: Vec<(FigureRow, String, String)>,
    pub funnels: Vec<FigureRow>,
    pub top_terms: Vec<(String, String)>,
    pub without_results: Vec<(String, String)>,
    pub new_terms: Vec<(String, String)>,
    /// The three search lists with their titles, for the page.
    pub search_lists: Vec<(String, Vec<(String, String)>)>,
    pub movers: Vec<MoverTable>,
    pub actions: Vec<(String, String, String)>,
}

fn figure_name(name: &str, t: &Text) -> String {
    match name {
        "visitors" => t.visitors.into(),
        "pageviews" => t.pageviews.into(),
        "visits" => t.visits.into(),
        "bounce_rate" => t.bounce_rate.into(),
        "visit_duration" => t.visit_duration.into(),
        other => other.into(),
    }
}

fn figure_row(f: &Figure, rate: bool, lang: Lang) -> FigureRow {
    let t = lang.text();
    let show = |v: f64| match (f.name.as_str(), rate) {
        ("bounce_rate", _) | (_, true) => format::percent(v, lang),
        ("visit_duration", _) => format::duration(v, lang),
        _ => format::int(v.max(0.0).round() as u64, lang),
    };
    let change = match (f.change, rate || f.name == "bounce_rate") {
        (Some(c), true) => format!(
            "{}{} {}",
            if c > 0.0 { "+" } else { "" },
            format::decimal(c, 1, lang),
            t.percentage_points
        ),
        (Some(c), false) if f.name == "visit_duration" || f.name == "visits" => {
            format!(
                "{}{}",
                if c > 0.0 { "+" } else { "" },
                format::decimal(c, 0, lang)
            )
        }
        (Some(c), false) => format::change(c.round(), lang),
        (None, _) => "–".into(),
    };
    let significance = match (f.test, f.p_value) {
        ("not_tested", _) | (_, None) => t.not_tested.to_string(),
        (_, Some(p)) if p < 0.001 => format!(
            "{} (p < {})",
            t.significant,
            format::decimal(0.001, 3, lang)
        ),
        (_, Some(p)) if f.significant => {
            format!("{} (p = {})", t.significant, format::decimal(p, 3, lang))
        }
        (_, Some(p)) => format!(
            "{} (p = {})",
            t.not_significant,
            format::decimal(p, 3, lang)
        ),
    };
    FigureRow {
        name: figure_name(&f.name, t),
        value: show(f.value),
        previous: show(f.previous),
        change,
        significance,
        significant: f.significant,
    }
}

fn counts(items: &[(String, u64)], lang: Lang) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.clone(), format::int(*v, lang)))
        .collect()
}

impl ReportView {
    pub fn new(r: &CycleReport, lang: Lang) -> Self {
        let t = lang.text();
        let labels: Vec<String> = r
            .visitors_per_day
            .iter()
            .map(|(d, _)| format::bucket_label(&d.to_string(), lang))
            .collect();
        let values: Vec<f64> = r.visitors_per_day.iter().map(|(_, v)| *v as f64).collect();
        let previous: Vec<f64> = r
            .previous_visitors_per_day
            .iter()
            .map(|v| *v as f64)
            .collect();
        let period = |c: &luister_impact::Cycle| {
            format!(
                "{} – {}",
                format::date(c.first, lang),
                format::date(c.last, lang)
            )
        };
        Self {
            site: r.site_id.clone(),
            period: period(&r.cycle),
            previous_period: period(&r.previous_cycle),
            has_data: r.has_data,
            chart_svg: chart::line(
                "report-chart",
                t.visitors_over_time,
                &labels,
                &values,
                Some(&previous),
                &|v| format::decimal(v, 0, lang),
                &[],
            ),
            chart_rows: labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    (
                        l.clone(),
                        format::int(values[i] as u64, lang),
                        previous
                            .get(i)
                            .map(|v| format::int(*v as u64, lang))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            headline: r
                .headline
                .iter()
                .map(|f| figure_row(f, false, lang))
                .collect(),
            goals: r
                .goals
                .iter()
                .map(|g| {
                    (
                        figure_row(&g.conversion_rate, true, lang),
                        format::euros(g.value_eur, lang),
                        format::hours(g.hours_saved, lang),
                    )
                })
                .collect(),
            funnels: r
                .funnels
                .iter()
                .map(|f| figure_row(f, true, lang))
                .collect(),
            top_terms: counts(&r.search.top_terms, lang),
            without_results: counts(&r.search.without_results, lang),
            new_terms: counts(&r.search.new_terms, lang),
            search_lists: vec![
                (
                    t.search_terms.to_string(),
                    counts(&r.search.top_terms, lang),
                ),
                (
                    t.terms_without_results.to_string(),
                    counts(&r.search.without_results, lang),
                ),
                (t.new_terms.to_string(), counts(&r.search.new_terms, lang)),
            ],
            movers: [
                ("pages", t.top_pages),
                ("sources", t.sources),
                ("search_terms", t.search_terms),
            ]
            .iter()
            .filter_map(|(key, title)| {
                let rows = r.movers.get(key)?;
                Some((
                    title.to_string(),
                    rows.iter()
                        .map(|m| {
                            (
                                m.value.clone(),
                                format::int(m.visitors, lang),
                                format!("{}{}", if m.change > 0 { "+" } else { "" }, m.change),
                            )
                        })
                        .collect(),
                ))
            })
            .collect(),
            actions: r
                .actions
                .iter()
                .map(|a| {
                    let verdict = a
                        .impact
                        .as_ref()
                        .map(|i| i.verdict.clone())
                        .or_else(|| a.not_measured.clone())
                        .unwrap_or_default();
                    (
                        a.action.title.clone(),
                        format::date(a.action.start_date, lang),
                        verdict,
                    )
                })
                .collect(),
        }
    }

    /// The report as Markdown (for a wiki or an e-mail body).
    pub fn markdown(&self, lang: Lang) -> String {
        let t = lang.text();
        let mut out = format!(
            "# {} {} – {}\n\n{}: {}\n\n",
            t.cycle_report, self.site, self.period, t.compared_with, self.previous_period
        );
        if !self.has_data {
            out.push_str(t.cycle_without_data);
            out.push('\n');
            return out;
        }
        let table = |out: &mut String, title: &str, rows: &[FigureRow]| {
            out.push_str(&format!(
                "## {title}\n\n| | {} | {} | {} | |\n|---|---:|---:|---:|---|\n",
                t.this_cycle, t.previous_cycle, t.change
            ));
            for r in rows {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    r.name, r.value, r.previous, r.change, r.significance
                ));
            }
            out.push('\n');
        };
        table(&mut out, t.overview, &self.headline);
        let goals: Vec<FigureRow> = self
            .goals
            .iter()
            .map(|(f, _, _)| FigureRow { ..clone_row(f) })
            .collect();
        table(&mut out, t.goals, &goals);
        table(&mut out, t.funnels, &self.funnels);
        out.push_str(&format!("## {}\n\n", t.search_terms));
        for (title, rows) in [
            (t.search_terms, &self.top_terms),
            (t.terms_without_results, &self.without_results),
            (t.new_terms, &self.new_terms),
        ] {
            let list: Vec<String> = rows.iter().map(|(k, v)| format!("{k} ({v})")).collect();
            out.push_str(&format!(
                "- **{title}**: {}\n",
                if list.is_empty() {
                    "–".into()
                } else {
                    list.join(", ")
                }
            ));
        }
        out.push_str(&format!("\n## {}\n\n", t.actions));
        for (title, start, verdict) in &self.actions {
            out.push_str(&format!("- **{title}** ({start}): {verdict}\n"));
        }
        out
    }
}

fn clone_row(f: &FigureRow) -> FigureRow {
    FigureRow {
        name: f.name.clone(),
        value: f.value.clone(),
        previous: f.previous.clone(),
        change: f.change.clone(),
        significance: f.significance.clone(),
        significant: f.significant,
    }
}

/// The standalone report file: everything inline, nothing fetched.
#[derive(Template)]
#[template(path = "report_file.html")]
struct ReportFile<'a> {
    lang: &'static str,
    t: &'static Text,
    view: &'a ReportView,
    css: String,
}

/// The cycle report as one self-contained HTML file.
pub fn report_html(r: &CycleReport, lang: Lang) -> Result<String, askama::Error> {
    let view = ReportView::new(r, lang);
    ReportFile {
        lang: lang.code(),
        t: lang.text(),
        view: &view,
        css: crate::assets::report_css(),
    }
    .render()
}

/// The cycle report as Markdown.
pub fn report_markdown(r: &CycleReport, lang: Lang) -> String {
    ReportView::new(r, lang).markdown(lang)
}
