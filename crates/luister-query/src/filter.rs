//! Plausible v1 filter expressions (`event:page==/schulden/**;visit:country!=NL`) and
//! page globs, parsed into typed [`Filter`]s.
//!
//! Syntax: `;` joins clauses (and), `|` separates values (or), `==`/`!=` compare,
//! `\|` and `\;` are literal. In values, `*` matches any characters but `/` and `**`
//! anything. No SQL is written here; [`glob_to_regex`] yields an RE2 pattern that the
//! SQL module binds as a value.

use crate::property::Property;
use crate::QueryError;

const MAX_CLAUSES: usize = 20;
const MAX_VALUES: usize = 100;
const MAX_VALUE_LEN: usize = 2000;

/// One clause: `property` equals (or, negated, differs from) any of `values`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub property: Property,
    pub negated: bool,
    pub values: Vec<String>,
}

impl Filter {
    pub fn is(property: Property, values: &[&str]) -> Self {
        Self {
            property,
            negated: false,
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    pub fn is_not(property: Property, values: &[&str]) -> Self {
        Self {
            negated: true,
            ..Self::is(property, values)
        }
    }

    /// True when some value holds a wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.values.iter().any(|v| v.contains('*'))
    }
}

/// Parses the `filters` parameter; an empty string means no filters.
pub fn parse_filters(param: &'static str, input: &str) -> Result<Vec<Filter>, QueryError> {
    if input.trim().is_empty() {
        return Ok(Vec::new());
    }
    let clauses = split_unescaped(input, ';');
    if clauses.len() > MAX_CLAUSES {
        return Err(QueryError::param(
            param,
            format!("at most {MAX_CLAUSES} clauses joined with ;"),
        ));
    }
    clauses.iter().map(|c| parse_clause(param, c)).collect()
}

fn parse_clause(param: &'static str, clause: &str) -> Result<Filter, QueryError> {
    let eq = clause.find("==");
    let ne = clause.find("!=");
    let (at, negated) = match (eq, ne) {
        (Some(e), Some(n)) if n < e => (n, true),
        (Some(e), _) => (e, false),
        (None, Some(n)) => (n, true),
        (None, None) => {
            return Err(QueryError::param(
                param,
                format!("{clause:?} is not property==value or property!=value"),
            ))
        }
    };
    let name = clause[..at].trim();
    let property = Property::parse(name).ok_or_else(|| {
        QueryError::param(
            param,
            format!(
                "unknown property {name:?}; allowed: {}",
                Property::allowed()
            ),
        )
    })?;
    let values: Vec<String> = split_unescaped(&clause[at + 2..], '|')
        .into_iter()
        .map(|v| unescape(&v))
        .collect();
    if values.len() > MAX_VALUES
        || values
            .iter()
            .any(|v| v.is_empty() || v.len() > MAX_VALUE_LEN)
    {
        return Err(QueryError::param(
            param,
            format!("{name} needs 1 to {MAX_VALUES} non-empty values of at most {MAX_VALUE_LEN} characters"),
        ));
    }
    Ok(Filter {
        property,
        negated,
        values,
    })
}

/// Splits on `sep` where it is not preceded by a backslash; escapes stay for [`unescape`].
fn split_unescaped(input: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        let current = parts.last_mut().expect("never empty");
        if c == '\\' {
            current.push(c);
            if let Some(next) = chars.next() {
                current.push(next);
            }
        } else if c == sep {
            parts.push(String::new());
        } else {
            current.push(c);
        }
    }
    parts
}

fn unescape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(next @ ('|' | ';' | '\\'))) => {
                out.push(next);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Which characters a single `*` may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Star {
    /// Page paths: `*` stays within one path segment, `**` crosses `/`.
    Segment,
    /// Free text such as search terms: `*` matches anything.
    Anything,
}

/// An anchored RE2 pattern matching any of `globs`; every other character is literal.
pub fn glob_to_regex(globs: &[String], star: Star) -> String {
    let alternatives: Vec<String> = globs.iter().map(|g| one_glob(g, star)).collect();
    format!("^(?:{})$", alternatives.join("|"))
}

fn one_glob(glob: &str, star: Star) -> String {
    let mut out = String::new();
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' {
            if chars.peek() == Some(&'*') {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push_str(".*");
            } else {
                out.push_str(if star == Star::Segment { "[^/]*" } else { ".*" });
            }
        } else {
            if "\\.+?()|[]{}^$".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(glob: &str, path: &str) -> bool {
        regex::Regex::new(&glob_to_regex(&[glob.to_string()], Star::Segment))
            .unwrap()
            .is_match(path)
    }

    #[test]
    fn parses_plausible_examples() {
        let f = parse_filters(
            "filters",
            "event:page==/schulden/**;visit:source==Google|Bing;visit:country!=NL",
        )
        .unwrap();
        assert_eq!(
            f,
            vec![
                Filter::is(Property::Page, &["/schulden/**"]),
                Filter::is(Property::Source, &["Google", "Bing"]),
                Filter::is_not(Property::Country, &["NL"]),
            ]
        );
        assert!(f[0].has_wildcard() && !f[1].has_wildcard());
        assert_eq!(parse_filters("filters", "").unwrap(), vec![]);
        let goal =
            parse_filters("filters", "event:goal==Visit /aanvraag|Aanvraag verstuurd").unwrap();
        assert_eq!(goal[0].values, ["Visit /aanvraag", "Aanvraag verstuurd"]);
        let prop = parse_filters("filters", "event:props:wijk==Noord").unwrap();
        assert_eq!(prop[0].property, Property::Prop("wijk".into()));
    }

    #[test]
    fn escapes_pipes_and_semicolons() {
        let f = parse_filters("filters", r"visit:utm_campaign==a\|b|c\;d;visit:os==Linux").unwrap();
        assert_eq!(f[0].values, ["a|b", "c;d"]);
        assert_eq!(f[1].values, ["Linux"]);
    }

    #[test]
    fn rejects_bad_filters_naming_the_parameter() {
        let err = parse_filters("filters", "event:pagina==/")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("filters") && err.contains("event:page") && err.contains("visit:city"),
            "{err}"
        );
        assert!(parse_filters("filters", "visit:country=NL").is_err());
        assert!(parse_filters("filters", "visit:country==").is_err());
        assert!(parse_filters("filters", "visit:country==NL|").is_err());
        assert!(parse_filters("filters", &"visit:os==x;".repeat(21)).is_err());
    }

    #[test]
    fn globs() {
        assert_eq!(
            glob_to_regex(&["/schulden/*".into()], Star::Segment),
            "^(?:/schulden/[^/]*)$"
        );
        assert!(matches("/schulden/*", "/schulden/hulp"));
        assert!(!matches("/schulden/*", "/schulden/hulp/aanvragen"));
        assert!(matches("/schulden/**", "/schulden/hulp/aanvragen"));
        assert!(matches("/schulden/**", "/schulden/"));
        assert!(!matches("/schulden/**", "/schulden"));
        assert!(matches("/a.b", "/a.b") && !matches("/a.b", "/aXb"));
        assert!(matches("/(x)+[y]$^|?", "/(x)+[y]$^|?"));
        assert!(matches("**/klaar", "/aanvraag/paspoort/klaar"));
        let any = glob_to_regex(&["*huur*".into(), "toeslag".into()], Star::Anything);
        let re = regex::Regex::new(&any).unwrap();
        assert!(
            re.is_match("huurtoeslag/2026")
                && re.is_match("toeslag")
                && !re.is_match("zorgtoeslag")
        );
    }
}
