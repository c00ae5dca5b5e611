//! Decode for `luister import`: one NDJSON line becomes [`RawEvent`]s through the very
//! decoder live events use, with the line's own timestamp, address and User-Agent.

use crate::decode::{decode_plausible, RequestContext};
use chrono::{DateTime, Utc};
use luister_model::RawEvent;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One line of an import file.
/// Fields not listed here are ignored, so exports with extra columns import as they are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportLine {
    /// RFC 3339 (`2026-11-02T09:15:00+01:00`); also `2026-11-02 08:15:00` (UTC) or Unix seconds.
    pub timestamp: Value,
    pub domain: String,
    #[serde(default = "pageview")]
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub referrer: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub props: Option<Map<String, Value>>,
    #[serde(default)]
    pub revenue: Option<Value>,
    #[serde(default)]
    pub interactive: Option<bool>,
}

fn pageview() -> String {
    "pageview".into()
}

/// One line → its events, or why the line is malformed.
pub fn decode_import_line(line: &str) -> Result<Vec<RawEvent>, String> {
    let parsed: ImportLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let timestamp = parse_timestamp(&parsed.timestamp)?;
    let ip = match parsed.ip.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(
            text.parse()
                .map_err(|_| format!("ip {text:?} is not an IP address"))?,
        ),
        None => None,
    };
    let ctx = RequestContext {
        received_at: timestamp,
        ip,
        user_agent: parsed.user_agent.clone().unwrap_or_default(),
    };
    let body = json!({
        "n": parsed.name, "u": parsed.url, "d": parsed.domain, "r": parsed.referrer,
        "p": parsed.props, "revenue": parsed.revenue, "i": parsed.interactive,
    });
    decode_plausible(body.to_string().as_bytes(), &ctx).map_err(|e| e.to_string())
}

/// RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` in UTC, or Unix seconds (number or digits).
fn parse_timestamp(value: &Value) -> Result<DateTime<Utc>, String> {
    let invalid = || format!("timestamp {value}: expected RFC 3339 like 2026-11-02T09:15:00+01:00");
    match value {
        Value::Number(n) => n
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .ok_or_else(invalid),
        Value::String(text) => {
            let text = text.trim();
            if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                return Ok(at.into());
            }
            if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f") {
                return Ok(naive.and_utc());
            }
            text.parse::<i64>()
                .ok()
                .and_then(|secs| DateTime::from_timestamp(secs, 0))
                .ok_or_else(invalid)
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_the_usual_shapes() {
        let expected: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-02T08:15:00Z")
            .unwrap()
            .into();
        for value in [
            json!("2026-11-02T09:15:00+01:00"),
            json!("2026-11-02T08:15:00Z"),
            json!("2026-11-02 08:15:00"),
            json!(expected.timestamp()),
            json!(expected.timestamp().to_string()),
        ] {
            assert_eq!(parse_timestamp(&value), Ok(expected), "{value}");
        }
        for bad in [
            json!("yesterday"),
            json!(null),
            json!([1]),
            json!("2026-13-02T08:15:00Z"),
        ] {
            assert!(parse_timestamp(&bad).is_err(), "{bad}");
        }
    }
}
