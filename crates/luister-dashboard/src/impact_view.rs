//! An action and its impact as the pages show them: the target in words, the two windows,
//! the change with its interval, value, control, power, placebo and warnings, formatted
//! in the user's language (the verdict itself comes from `luister-impact`).

use crate::format;
use crate::i18n::Lang;
use luister_impact::action::Status;
use luister_impact::impact::Side;
use luister_impact::{Impact, Target};

/// An impact as the page shows it.
pub struct ImpactView {
    pub verdict: String,
    pub significant: bool,
    pub method: &'static str,
    pub p_value: String,
    pub rows: Vec<(String, String, String)>,
    pub change: String,
    pub ci: String,
    pub value: Option<String>,
    pub control: Option<String>,
    pub power: Option<String>,
    pub placebo: Option<String>,
    pub warnings: Vec<String>,
    pub windows: String,
}

pub(crate) fn status_label(s: Status, lang: Lang) -> &'static str {
    match (s, lang) {
        (Status::Planned, Lang::Nl) => "gepland",
        (Status::Active, Lang::Nl) => "bezig",
        (Status::Done, Lang::Nl) => "klaar",
        (Status::Planned, Lang::En) => "planned",
        (Status::Active, Lang::En) => "active",
        (Status::Done, Lang::En) => "done",
    }
}

pub(crate) fn target_text(t: &Target) -> String {
    match t {
        Target::Goal {
            goal,
            page: Some(page),
        } => format!("{goal} · {page}"),
        Target::Goal { goal, page: None } => goal.clone(),
        Target::Funnel { funnel } => format!("trechter {funnel}"),
        Target::Metric { metric, filters } if filters.is_empty() => metric.clone(),
        Target::Metric { metric, filters } => format!("{metric} · {filters}"),
        Target::Search { term, measure } => format!(
            "{} · {}",
            term.as_deref().unwrap_or("*"),
            serde_json::to_value(measure)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
    }
}

pub(crate) fn side_text(side: &Side, lang: Lang) -> (String, String) {
    match side {
        Side::Rate(r) => (
            format!(
                "{} / {}",
                format::int(r.successes, lang),
                format::int(r.trials, lang)
            ),
            format::percent(r.rate, lang),
        ),
        Side::Count(c) => (
            format::int(c.total, lang),
            format::decimal(c.mean_per_day, 1, lang),
        ),
    }
}

pub(crate) fn p_text(p: f64, lang: Lang) -> String {
    if p < 0.001 {
        format!("< {}", format::decimal(0.001, 3, lang))
    } else {
        format::decimal(p, 3, lang)
    }
}

/// The impact in the page's words and numbers.
pub fn impact_view(r: &Impact, lang: Lang) -> ImpactView {
    let t = lang.text();
    let (before_n, before_rate) = side_text(&r.before, lang);
    let (after_n, after_rate) = side_text(&r.after, lang);
    let pp = |v: f64| {
        format!(
            "{}{} {}",
            if v > 0.0 { "+" } else { "" },
            format::decimal(v, 1, lang),
            t.percentage_points
        )
    };
    let (change, ci) = match (r.difference_pp, r.ci95_pp, r.relative_change) {
        (Some(d), Some((lo, hi)), _) => (pp(d), format!("{} … {}", pp(lo), pp(hi))),
        (_, _, Some(rel)) => (format::change(rel.round(), lang), String::new()),
        _ => ("–".into(), String::new()),
    };
    ImpactView {
        verdict: r.verdict.clone(),
        significant: r.significant,
        method: r.method,
        p_value: p_text(r.p_value, lang),
        rows: vec![
            (t.before_window.to_string(), before_n, before_rate),
            (t.after_window.to_string(), after_n, after_rate),
        ],
        change,
        ci,
        value: r.value.as_ref().map(|v| {
            format!(
                "{} {} ({} … {}), {}, {}",
                format::decimal(v.extra_conversions, 0, lang),
                t.conversions.to_lowercase(),
                format::decimal(v.extra_conversions_ci95.0, 0, lang),
                format::decimal(v.extra_conversions_ci95.1, 0, lang),
                format::euros(v.eur, lang),
                format::hours(v.hours, lang)
            )
        }),
        control: r.control.as_ref().map(|c| {
            format!(
                "{}: {} (p {})",
                t.difference_in_differences,
                format::decimal(c.difference_in_differences, 1, lang),
                p_text(c.p_value, lang)
            )
        }),
        power: r.power.as_ref().map(|p| {
            format!(
                "{} {}",
                format::int(p.needed_per_side, lang),
                t.visitors_per_window_needed
            )
        }),
        placebo: r.robustness.placebo.as_ref().map(|p| {
            format!(
                "{} / {} {}",
                p.as_significant, p.runs, t.placebo_as_significant
            )
        }),
        warnings: r.robustness.warnings.clone(),
        windows: format!(
            "{} – {} · {} – {}",
            format::date(r.windows.0.first, lang),
            format::date(r.windows.0.last, lang),
            format::date(r.windows.1.first, lang),
            format::date(r.windows.1.last, lang)
        ),
    }
}

pub(crate) fn impact_lang(lang: Lang) -> luister_impact::Lang {
    match lang {
        Lang::Nl => luister_impact::Lang::Nl,
        Lang::En => luister_impact::Lang::En,
    }
}
