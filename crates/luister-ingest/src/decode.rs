//! Decode: turns a Plausible Events API body into [`RawEvent`]s.
//!
//! Accepts the long and short field names (`name`/`n`, `url`/`u`, `domain`/`d`,
//! `referrer`/`r`, `props`/`p`, `revenue`/`$`, `interactive`/`i`, `h`, and the
//! engagement fields `sd`/`e`). Owns size limits on the wire format; knows nothing of sites.

use chrono::{DateTime, Utc};
use luister_model::RawEvent;
use serde_json::{Map, Value};
use std::net::IpAddr;

pub const MAX_NAME_LEN: usize = 120;
pub const MAX_URL_LEN: usize = 2_000;
pub const MAX_PROPS: usize = 30;
pub const MAX_PROP_KEY_LEN: usize = 300;
pub const MAX_PROP_VALUE_LEN: usize = 2_000;
/// Distinct domains one event may be sent to (Plausible's comma-separated roll-up form).
pub const MAX_DOMAINS: usize = 10;

/// Why a body could not be read as an event; each names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("body must be a JSON object")]
    NotAnObject,
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    #[error("field `{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("field `{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("field `domain` names more than {MAX_DOMAINS} different domains")]
    TooManyDomains,
}

impl DecodeError {
    /// Label of the drop in `luister_events_dropped_total`.
    pub fn drop_label(&self) -> &'static str {
        match self {
            DecodeError::TooManyDomains => "too_many_domains",
            _ => "malformed",
        }
    }
}

/// The parts of a request that do not come from its body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub received_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub user_agent: String,
}

/// Decodes one Plausible-shaped body. A comma-separated `domain` yields one event per domain.
pub fn decode_plausible(body: &[u8], ctx: &RequestContext) -> Result<Vec<RawEvent>, DecodeError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    let object = value.as_object().ok_or(DecodeError::NotAnObject)?;
    let name = required_str(object, "name", "n", MAX_NAME_LEN)?;
    let url = required_str(object, "url", "u", MAX_URL_LEN)?;
    let domains = required_str(object, "domain", "d", MAX_URL_LEN)?;
    let referrer = optional_str(object, "referrer", "r", MAX_URL_LEN)?.unwrap_or_default();
    let props = decode_props(pick(object, "props", "p"))?;
    let revenue = decode_revenue(pick(object, "revenue", "$"))?;
    let interactive = match pick(object, "interactive", "i") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "interactive",
                expected: "true or false",
            })
        }
    };
    let keep_hash = match pick(object, "hashMode", "h") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "h",
                expected: "0, 1, true or false",
            })
        }
    };
    let scroll_depth = optional_int(object, "sd")?.map(|v| v.clamp(0, 100) as u8);
    let engaged_ms = optional_int(object, "e")?.map(|v| v.clamp(0, u32::MAX as i64) as u32);
    let base = RawEvent {
        timestamp: ctx.received_at,
        domain: String::new(),
        name: name.trim().to_string(),
        url,
        referrer,
        props,
        ip: ctx.ip,
        user_agent: ctx.user_agent.clone(),
        revenue,
        interactive,
        keep_hash,
        scroll_depth,
        engaged_ms,
    };
    let mut distinct: Vec<String> = Vec::new();
    for domain in domains.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if !domain.is_empty() && !distinct.contains(&domain) {
            if distinct.len() == MAX_DOMAINS {
                return Err(DecodeError::TooManyDomains);
            }
            distinct.push(domain);
        }
    }
    if distinct.is_empty() {
        return Err(DecodeError::Missing("domain"));
    }
    Ok(distinct
        .into_iter()
        .map(|domain| RawEvent {
            domain,
            ..base.clone()
        })
        .collect())
}

fn pick<'a>(object: &'a Map<String, Value>, long: &str, short: &str) -> Option<&'a Value> {
    object.get(long).or_else(|| object.get(short))
}

fn required_str(
    object: &Map<String, Value>,
    long: &'static str,
    short: &'static str,
    max: usize,
) -> Result<String, DecodeError> {
    optional_str(object, long, short, max)?
        .filter(|s| !s.trim().is_empty())
        .ok_or(DecodeError::Missing(long))
}

fn optional_str(
    object: &Map<String, Value>,
    long: &'static str,
    short: &'static str,
    max: usize,
) -> Result<Option<String>, DecodeError> {
    match pick(object, long, short) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > max => {
            Err(DecodeError::TooLong { field: long, max })
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DecodeError::WrongType {
            field: long,
            expected: "a string",
        }),
    }
}

fn optional_int(
    object: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<i64>, DecodeError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Some(_) => Err(DecodeError::WrongType {
            field,
            expected: "a number",
        }),
    }
}

/// Props are an object of scalar values; strings, numbers and booleans are kept as text.
/// Accepts the object itself or a JSON string holding it (older trackers send that).
fn decode_props(value: Option<&Value>) -> Result<Vec<(String, String)>, DecodeError> {
    let parsed;
    let object = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(o)) => o,
        Some(Value::String(s)) => {
            parsed = serde_json::from_str::<Value>(s).map_err(|_| DecodeError::WrongType {
                field: "props",
                expected: "an object of string values",
            })?;
            return decode_props(Some(&parsed));
        }
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "props",
                expected: "an object of string values",
            })
        }
    };
    let mut props = Vec::new();
    for (key, value) in object.iter().take(MAX_PROPS) {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => continue,
        };
        if key.is_empty() || key.chars().count() > MAX_PROP_KEY_LEN {
            continue;
        }
        props.push((key.clone(), truncate_chars(&text, MAX_PROP_VALUE_LEN)));
    }
    Ok(props)
}

/// `{"amount": "12.50" | 12.5, "currency": "EUR"}` → cents and currency.
fn decode_revenue(value: Option<&Value>) -> Result<Option<(i64, String)>, DecodeError> {
    let wrong = DecodeError::WrongType {
        field: "revenue",
        expected: "{\"amount\": number, \"currency\": \"EUR\"}",
    };
    let object = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return Err(wrong),
    };
    let amount = match object.get("amount") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().replace(',', ".").parse::<f64>().ok(),
        _ => None,
    }
    .filter(|a| a.is_finite() && a.abs() < 1e15)
    .ok_or(wrong.clone())?;
    let currency = match object.get("currency") {
        Some(Value::String(c)) if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => return Err(wrong),
    };
    Ok(Some(((amount * 100.0).round() as i64, currency)))
}

pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RequestContext {
        RequestContext {
            received_at: DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
                .unwrap()
                .into(),
            ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: "UA".into(),
        }
    }

    #[test]
    fn long_and_short_names_decode_alike() {
        let long = br#"{"name":"pageview","url":"https://a.nl/x","domain":"a.nl","referrer":"https://r.nl/","props":{"k":"v","n":3,"b":true},"interactive":false,"revenue":{"amount":"12.34","currency":"eur"}}"#;
        let short = br#"{"n":"pageview","u":"https://a.nl/x","d":"a.nl","r":"https://r.nl/","p":{"k":"v","n":3,"b":true},"i":false,"$":{"amount":12.34,"currency":"EUR"}}"#;
        let a = decode_plausible(long, &ctx()).unwrap();
        let b = decode_plausible(short, &ctx()).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a[0].props,
            vec![
                ("k".into(), "v".into()),
                ("n".into(), "3".into()),
                ("b".into(), "true".into())
            ]
        );
        assert_eq!(a[0].revenue, Some((1234, "EUR".into())));
        assert!(!a[0].interactive);
    }

    #[test]
    fn props_as_json_string_and_multiple_domains() {
        let body = br#"{"n":"Signup","u":"https://a.nl/","d":"a.nl, b.nl","p":"{\"plan\":\"x\"}"}"#;
        let events = decode_plausible(body, &ctx()).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].domain, "b.nl");
        assert_eq!(events[0].props, vec![("plan".into(), "x".into())]);
    }

    #[test]
    fn domains_are_deduplicated_and_capped() {
        let repeated = vec!["a.nl"; 50].join(",");
        let body = format!(r#"{{"n":"pageview","u":"https://a.nl/","d":"{repeated}, A.NL"}}"#);
        assert_eq!(decode_plausible(body.as_bytes(), &ctx()).unwrap().len(), 1);
        let many: Vec<String> = (0..=MAX_DOMAINS).map(|i| format!("s{i}.nl")).collect();
        let body = format!(
            r#"{{"n":"pageview","u":"https://a.nl/","d":"{}"}}"#,
            many.join(",")
        );
        let err = decode_plausible(body.as_bytes(), &ctx()).unwrap_err();
        assert_eq!(err, DecodeError::TooManyDomains);
        assert_eq!(err.drop_label(), "too_many_domains");
        let body = format!(
            r#"{{"n":"pageview","u":"https://a.nl/","d":"{}"}}"#,
            many[..MAX_DOMAINS].join(",")
        );
        assert_eq!(
            decode_plausible(body.as_bytes(), &ctx()).unwrap().len(),
            MAX_DOMAINS
        );
    }

    #[test]
    fn engagement_fields() {
        let body = br#"{"n":"engagement","u":"https://a.nl/","d":"a.nl","sd":140,"e":5300,"h":1}"#;
        let e = &decode_plausible(body, &ctx()).unwrap()[0];
        assert_eq!(
            (e.scroll_depth, e.engaged_ms, e.keep_hash),
            (Some(100), Some(5300), true)
        );
    }

    #[test]
    fn malformed_bodies_are_clear_errors() {
        let cases: &[(&[u8], DecodeError)] = &[
            (b"not json", DecodeError::InvalidJson(String::new())),
            (b"[1,2]", DecodeError::NotAnObject),
            (br#"{"u":"https://a.nl/","d":"a.nl"}"#, DecodeError::Missing("name")),
            (br#"{"n":"x","d":"a.nl"}"#, DecodeError::Missing("url")),
            (br#"{"n":"x","u":"https://a.nl/"}"#, DecodeError::Missing("domain")),
            (br#"{"n":5,"u":"https://a.nl/","d":"a.nl"}"#, DecodeError::WrongType { field: "name", expected: "a string" }),
            (br#"{"n":"x","u":"https://a.nl/","d":"a.nl","revenue":{"amount":"abc","currency":"EUR"}}"#, DecodeError::WrongType { field: "revenue", expected: "{\"amount\": number, \"currency\": \"EUR\"}" }),
        ];
        for (body, expected) in cases {
            let got = decode_plausible(body, &ctx()).unwrap_err();
            match (expected, &got) {
                (DecodeError::InvalidJson(_), DecodeError::InvalidJson(_)) => {}
                _ => assert_eq!(&got, expected, "body {}", String::from_utf8_lossy(body)),
            }
        }
        let long_name = format!(
            r#"{{"n":"{}","u":"https://a.nl/","d":"a.nl"}}"#,
            "x".repeat(121)
        );
        assert!(matches!(
            decode_plausible(long_name.as_bytes(), &ctx()),
            Err(DecodeError::TooLong { field: "name", .. })
        ));
    }
}
