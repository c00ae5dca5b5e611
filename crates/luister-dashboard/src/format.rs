//! Numbers, percentages, money, durations and dates as people read them: `nl-NL` by
//! default (12.345 · 12,5% · € 1.234,50 · 30 nov 2026), `en` when chosen.
//!
//! Every number a page shows passes through here, so the page-versus-API test can parse
//! them back the same way.

use crate::i18n::Lang;
use chrono::{Datelike, NaiveDate};

/// Groups of three digits with the language's separator.
fn group(digits: &str, lang: Lang) -> String {
    let sep = match lang {
        Lang::Nl => '.',
        Lang::En => ',',
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// A whole number: `12.345` (nl) or `12,345` (en).
pub fn int(n: u64, lang: Lang) -> String {
    group(&n.to_string(), lang)
}

/// A number with `decimals` places and grouped thousands; negative numbers keep their sign.
pub fn decimal(v: f64, decimals: usize, lang: Lang) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if v < 0.0 && text.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        out.push('−');
    }
    out.push_str(&group(whole, lang));
    if !frac.is_empty() {
        out.push(match lang {
            Lang::Nl => ',',
            Lang::En => '.',
        });
        out.push_str(frac);
    }
    out
}

/// A percentage with at most one decimal: `12,5%`; whole numbers without decimals.
pub fn percent(v: f64, lang: Lang) -> String {
    let rounded = (v * 10.0).round() / 10.0;
    let decimals = if rounded.fract() == 0.0 { 0 } else { 1 };
    format!("{}%", decimal(rounded, decimals, lang))
}

/// A change against the comparison period: `+12%`, `−3%`, `0%`.
pub fn change(v: f64, lang: Lang) -> String {
    let sign = if v > 0.0 { "+" } else { "" };
    format!("{sign}{}", percent(v, lang))
}

/// Euros with cents: `€ 1.234,50` (nl) or `€1,234.50` (en).
pub fn euros(v: f64, lang: Lang) -> String {
    match lang {
        Lang::Nl => format!("€ {}", decimal(v, 2, lang)),
        Lang::En => format!("€{}", decimal(v, 2, lang)),
    }
}

/// Hours with one decimal: `12,5 uur` / `12.5 hours`.
pub fn hours(v: f64, lang: Lang) -> String {
    match lang {
        Lang::Nl => format!("{} uur", decimal(v, 1, lang)),
        Lang::En => format!("{} hours", decimal(v, 1, lang)),
    }
}

/// A visit duration in seconds: `2 min 05 s`, `45 s`, `1 u 02 min`.
pub fn duration(seconds: f64, lang: Lang) -> String {
    let s = seconds.max(0.0).round() as u64;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    let hour = match lang {
        Lang::Nl => "u",
        Lang::En => "h",
    };
    if h > 0 {
        format!("{h} {hour} {m:02} min")
    } else if m > 0 {
        format!("{m} min {sec:02} s")
    } else {
        format!("{sec} s")
    }
}

const MONTHS_NL: [&str; 12] = [
    "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month_name(month0: u32, lang: Lang) -> &'static str {
    let i = month0.min(11) as usize;
    match lang {
        Lang::Nl => MONTHS_NL[i],
        Lang::En => MONTHS_EN[i],
    }
}

/// A day: `30 nov 2026` / `30 Nov 2026`.
pub fn date(d: NaiveDate, lang: Lang) -> String {
    format!("{} {} {}", d.day(), month_name(d.month0(), lang), d.year())
}

/// A short axis label of a timeseries bucket (`2026-11-30`, `2026-11-30 14:00:00`, `2026-11-01`).
pub fn bucket_label(bucket: &str, lang: Lang) -> String {
    let day = bucket
        .get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    match (day, bucket.get(11..16)) {
        (_, Some(time)) => time.to_string(),
        (Some(d), None) => format!("{} {}", d.day(), month_name(d.month0(), lang)),
        (None, None) => bucket.to_string(),
    }
}

/// Reads back a number written by [`int`] or [`decimal`] (tests compare pages with the API).
pub fn parse_number(text: &str, lang: Lang) -> Option<f64> {
    let (group_sep, decimal_sep) = match lang {
        Lang::Nl => ('.', ','),
        Lang::En => (',', '.'),
    };
    let cleaned: String = text
        .trim()
        .trim_start_matches('€')
        .trim_end_matches('%')
        .trim()
        .replace('−', "-")
        .chars()
        .filter(|&c| c != group_sep)
        .map(|c| if c == decimal_sep { '.' } else { c })
        .collect();
    cleaned.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dutch_and_english_numbers() {
        assert_eq!(int(0, Lang::Nl), "0");
        assert_eq!(int(999, Lang::Nl), "999");
        assert_eq!(int(12345, Lang::Nl), "12.345");
        assert_eq!(int(1234567, Lang::En), "1,234,567");
        assert_eq!(percent(12.46, Lang::Nl), "12,5%");
        assert_eq!(percent(40.0, Lang::Nl), "40%");
        assert_eq!(change(-3.0, Lang::Nl), "−3%");
        assert_eq!(change(12.0, Lang::En), "+12%");
        assert_eq!(euros(1234.5, Lang::Nl), "€ 1.234,50");
        assert_eq!(euros(1234.5, Lang::En), "€1,234.50");
        assert_eq!(hours(2.26, Lang::Nl), "2,3 uur");
        assert_eq!(decimal(-0.001, 1, Lang::Nl), "0,0");
    }

    #[test]
    fn durations_and_dates() {
        assert_eq!(duration(45.0, Lang::Nl), "45 s");
        assert_eq!(duration(125.0, Lang::Nl), "2 min 05 s");
        assert_eq!(duration(3720.0, Lang::En), "1 h 02 min");
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        assert_eq!(date(d, Lang::Nl), "30 nov 2026");
        assert_eq!(bucket_label("2026-11-30", Lang::Nl), "30 nov");
        assert_eq!(bucket_label("2026-11-30 14:00:00", Lang::Nl), "14:00");
    }

    #[test]
    fn numbers_read_back() {
        for (v, lang) in [(12345.0, Lang::Nl), (1234.5, Lang::En), (0.0, Lang::Nl)] {
            assert_eq!(parse_number(&decimal(v, 1, lang), lang), Some(v));
        }
        assert_eq!(parse_number("€ 1.234,50", Lang::Nl), Some(1234.5));
        assert_eq!(parse_number("12,5%", Lang::Nl), Some(12.5));
    }
}
