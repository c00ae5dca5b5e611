//! The verdict in plain words, Dutch by default, English on request: what changed, whether
//! that is more than chance, and what to make of it.

use crate::action::{Action, Kind};
use crate::impact::{Impact, Side};
use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "nl" => Some(Lang::Nl),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Something that weakens a verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Warning {
    NotWholeWeeks,
    AfterIncomplete {
        seen: u32,
        planned: u32,
    },
    Overlap {
        title: String,
        start: NaiveDate,
    },
    LowCounts,
    NoDataBefore,
    /// The site's settings or goals changed inside the windows (from the audit log).
    SiteChanged {
        what: String,
        on: NaiveDate,
    },
}

fn number(v: f64, decimals: usize, lang: Lang) -> String {
    let text = format!("{:.*}", decimals, v);
    match lang {
        Lang::Nl => text.replace('.', ","),
        Lang::En => text,
    }
}

fn p_text(p: f64, lang: Lang) -> String {
    if p < 0.001 {
        match lang {
            Lang::Nl => "p < 0,001".into(),
            Lang::En => "p < 0.001".into(),
        }
    } else {
        format!("p = {}", number(p, 3, lang))
    }
}

/// A warning in words.
pub fn warning(w: &Warning, lang: Lang) -> String {
    match (w, lang) {
        (Warning::NotWholeWeeks, Lang::Nl) => "De vensters zijn geen hele weken: verschillen tussen weekdagen kunnen het resultaat kleuren.".into(),
        (Warning::NotWholeWeeks, Lang::En) => "The windows are not whole weeks: weekday differences may colour the result.".into(),
        (Warning::AfterIncomplete { seen, planned }, Lang::Nl) => format!("Het venster na de start is nog niet compleet ({seen} van {planned} dagen)."),
        (Warning::AfterIncomplete { seen, planned }, Lang::En) => format!("The window after the start is not complete yet ({seen} of {planned} days)."),
        (Warning::Overlap { title, start }, Lang::Nl) => format!("Een andere actie op hetzelfde doel valt in de vensters: \u{201c}{title}\u{201d} (start {start})."),
        (Warning::Overlap { title, start }, Lang::En) => format!("Another action on the same target falls in the windows: \u{201c}{title}\u{201d} (start {start})."),
        (Warning::LowCounts, Lang::Nl) => "De aantallen zijn te klein om sterke conclusies te trekken.".into(),
        (Warning::LowCounts, Lang::En) => "The counts are too low to draw firm conclusions.".into(),
        (Warning::NoDataBefore, Lang::Nl) => "Er zijn geen gegevens van voor de start: vergelijken kan niet.".into(),
        (Warning::NoDataBefore, Lang::En) => "There are no data from before the start: nothing to compare with.".into(),
        (Warning::SiteChanged { what, on }, Lang::Nl) => format!("Op {on} veranderde de meting zelf ({what}): dat kan het verschil mede verklaren."),
        (Warning::SiteChanged { what, on }, Lang::En) => format!("On {on} the measurement itself changed ({what}): that may explain part of the difference."),
    }
}

fn change_text(r: &Impact, lang: Lang) -> String {
    match (&r.before, &r.after, r.kind) {
        (Side::Rate(b), Side::Rate(a), Kind::Rate) => {
            let diff = r.difference_pp.unwrap_or(0.0);
            match lang {
                Lang::Nl => format!(
                    "van {}% naar {}% ({}{} procentpunt)",
                    number(b.rate, 1, lang),
                    number(a.rate, 1, lang),
                    if diff > 0.0 { "+" } else { "" },
                    number(diff, 1, lang)
                ),
                Lang::En => format!(
                    "from {}% to {}% ({}{} percentage points)",
                    number(b.rate, 1, lang),
                    number(a.rate, 1, lang),
                    if diff > 0.0 { "+" } else { "" },
                    number(diff, 1, lang)
                ),
            }
        }
        (Side::Count(b), Side::Count(a), _) => {
            let rel = r.relative_change.unwrap_or(0.0);
            match lang {
                Lang::Nl => format!(
                    "van {} naar {} per dag ({}{}%)",
                    number(b.mean_per_day, 1, lang),
                    number(a.mean_per_day, 1, lang),
                    if rel > 0.0 { "+" } else { "" },
                    number(rel, 0, lang)
                ),
                Lang::En => format!(
                    "from {} to {} per day ({}{}%)",
                    number(b.mean_per_day, 1, lang),
                    number(a.mean_per_day, 1, lang),
                    if rel > 0.0 { "+" } else { "" },
                    number(rel, 0, lang)
                ),
            }
        }
        _ => String::new(),
    }
}

/// The verdict of an impact.
pub fn verdict(r: &Impact, action: &Action, lang: Lang) -> String {
    let change = change_text(r, lang);
    let p = p_text(r.p_value, lang);
    let mut text = match (r.significant, r.as_expected, lang) {
        (true, Some(false), Lang::Nl) => format!("Significant, maar de andere kant op dan verwacht: {change}, {p}."),
        (true, Some(false), Lang::En) => format!("Significant, but the other way than expected: {change}, {p}."),
        (true, _, Lang::Nl) => format!("Significant: \u{201c}{}\u{201d} ging samen met een verandering {change}, {p}. Toeval is een onwaarschijnlijke verklaring.", action.title),
        (true, _, Lang::En) => format!("Significant: \u{201c}{}\u{201d} came with a change {change}, {p}. Chance is an unlikely explanation.", action.title),
        (false, _, Lang::Nl) => format!("Niet significant: {change}, {p}. Dit verschil kan ook toeval zijn."),
        (false, _, Lang::En) => format!("Not significant: {change}, {p}. This difference may well be chance."),
    };
    if let Some(power) = &r.power {
        text.push(' ');
        text.push_str(&match lang {
            Lang::Nl => format!("Om een verschil van deze grootte aan te tonen zijn ongeveer {} bezoekers per periode nodig ({} meer).", power.needed_per_side, power.extra_per_side),
            Lang::En => format!("Showing a difference this size needs about {} visitors per period ({} more).", power.needed_per_side, power.extra_per_side),
        });
    }
    if let Some(value) = &r.value {
        if r.significant {
            text.push(' ');
            text.push_str(&match lang {
                Lang::Nl => format!(
                    "Dat zijn naar schatting {} conversies meer, € {} en {} uur.",
                    number(value.extra_conversions, 0, lang),
                    number(value.eur, 0, lang),
                    number(value.hours, 1, lang)
                ),
                Lang::En => format!(
                    "That is an estimated {} more conversions, €{} and {} hours.",
                    number(value.extra_conversions, 0, lang),
                    number(value.eur, 0, lang),
                    number(value.hours, 1, lang)
                ),
            });
        }
    }
    if let Some(control) = &r.control {
        text.push(' ');
        text.push_str(&match (control.significant, lang) {
            (true, Lang::Nl) => format!("Ook tegenover de controlegroep blijft het verschil overeind ({}).", p_text(control.p_value, lang)),
            (true, Lang::En) => format!("The difference holds against the control as well ({}).", p_text(control.p_value, lang)),
            (false, Lang::Nl) => format!("Tegenover de controlegroep is het verschil niet significant ({}): een algemene trend kan het verklaren.", p_text(control.p_value, lang)),
            (false, Lang::En) => format!("Against the control the difference is not significant ({}): a general trend may explain it.", p_text(control.p_value, lang)),
        });
    }
    text
}
