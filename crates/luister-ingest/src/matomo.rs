//! Decode: turns Matomo HTTP Tracking API requests (`/matomo.php`, `/piwik.php`) into
//! [`RawEvent`]s, so a site can keep its Matomo tracker and point it at Luister.
//!
//! One request is one action. What each kind becomes:
//!
//! | Matomo request | stored as |
//! | --- | --- |
//! | plain request (no action parameter) | `pageview` of `url` |
//! | `e_c`, `e_a` (+ `e_n`, `e_v`) | custom event `"<e_c>: <e_a>"`, props `category`, `action`, `name`, `value` (those sent) |
//! | `search` (+ `search_cat`, `search_count`) on a page whose URL carries the same term in one of the site's search parameters | `pageview` of that page with prop `results` (and `category`): the row our own tracker writes for a search results page |
//! | `search` whose term is not in the page URL (a JavaScript search) | custom event `search`, props `query`, `results`, `category` (those sent) |
//! | `link=<url>` to a host that is neither the page's nor the site's | `Outbound Link: Click`, prop `url` (the full link) |
//! | `link=<url>` to the site itself | nothing (Matomo's own tracker never sends those; a hand-made call gains nothing) |
//! | `download=<url>` | `File Download`, prop `url` (without query string and fragment, as our tracker sends it) |
//! | `idgoal=0` with `ec_id` and `revenue` (an e-commerce order) | custom event `Purchase` with the revenue in EUR |
//! | `ping=1` (heartbeat), other goal conversions, cart updates, content, media and crash tracking, any other `ca=1` custom action | nothing (accepted, not stored) |
//!
//! Identity stays cookieless: Matomo's visitor ids (`_id`, `cid`, `uid`, `_idts`…) and `lang`
//! are ignored. `ua` stands for the User-Agent, as in Matomo (server-side trackers send the
//! visitor's there). `cip` (the visitor's address) and `cdt` (the time, at most 24 hours
//! back) come out as [`Claims`]: the collector applies them only when `token_auth` is a
//! Luister `write` token for the site, as Matomo requires `token_auth` for them; otherwise
//! the address and time are the request's own, as for every other collector. The visitor
//! id is then the usual daily-salted hash of address and User-Agent. `res`, `action_name`
//! (page title), custom dimensions and variables are not stored.
//!
//! An empty parameter, and the text `undefined` or `null` that JavaScript trackers send for
//! options they were not given (`e_v=undefined`), count as absent.

use crate::decode::{
    truncate_chars, RequestContext, MAX_NAME_LEN, MAX_PROP_VALUE_LEN, MAX_URL_LEN,
};
use crate::enrich::{page_url, pii};
use crate::validate::SiteRegistry;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use luister_model::{RawEvent, Site};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;

/// Characters of a User-Agent kept, as of the request header.
const MAX_USER_AGENT_LEN: usize = 1024;

/// Most requests one bulk body may carry.
pub const MAX_BULK_REQUESTS: usize = 1_000;

/// Why a Matomo request cannot be recorded; each names the offending parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatomoError {
    #[error("parameter `rec` must be 1 for a request to be recorded")]
    NotRecorded,
    #[error("missing required parameter `{0}`")]
    Missing(&'static str),
    #[error("parameter `{field}` must be {expected}")]
    Invalid {
        field: &'static str,
        expected: &'static str,
    },
    #[error("parameter `{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("unknown site: no site has matomo_id {0}")]
    UnknownSite(u32),
    #[error("bulk body: {0}")]
    Bulk(String),
}

/// How far back `cdt` may set an event's time: the salts of older days may be gone.
const MAX_CDT_AGE: TimeDelta = TimeDelta::hours(24);
/// Clocks differ: a `cdt` this far ahead of ours is taken as now.
const CDT_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(5);

/// What a request asks to set that only a trusted sender may (Matomo's `cip` and `cdt`),
/// with the `token_auth` that is to prove it. The collector checks the token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub token: String,
    pub ip: Option<IpAddr>,
    pub time: Option<DateTime<Utc>>,
}

impl Claims {
    /// Gives `events` the claimed address and time.
    pub fn apply(&self, events: &mut [RawEvent]) {
        for event in events {
            if let Some(ip) = self.ip {
                event.ip = Some(ip);
            }
            if let Some(time) = self.time {
                event.timestamp = time;
            }
        }
    }
}

/// One decoded request: its events (none for requests that store nothing) and its claims.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MatomoRequest {
    pub events: Vec<RawEvent>,
    pub claims: Option<Claims>,
}

/// A bulk request's outcome: its valid requests and how many were refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BulkDecoded {
    pub requests: Vec<MatomoRequest>,
    /// Requests that were well-formed (they count as tracked, even when they store nothing).
    pub tracked: usize,
    /// Requests that were refused, with the first reason.
    pub invalid: usize,
    pub first_error: Option<MatomoError>,
}

/// Decodes one request from its url-encoded parameters (a query string or a form body;
/// a leading `?` is allowed). Returns no event for requests that are valid but store nothing.
pub fn decode_matomo(
    query: &str,
    ctx: &RequestContext,
    sites: &SiteRegistry,
) -> Result<Vec<RawEvent>, MatomoError> {
    decode_matomo_request(query, ctx, sites).map(|request| request.events)
}

/// [`decode_matomo`] with the request's [`Claims`], for the collector to check.
pub fn decode_matomo_request(
    query: &str,
    ctx: &RequestContext,
    sites: &SiteRegistry,
) -> Result<MatomoRequest, MatomoError> {
    let params = parse_params(query);
    decode_request(&params, ctx, sites, None)
}

impl BulkDecoded {
    /// Every event of the valid requests, in order.
    pub fn events(&self) -> impl Iterator<Item = &RawEvent> {
        self.requests.iter().flat_map(|r| r.events.iter())
    }
}

/// Whether the sender wants the 1×1 GIF back (`send_image=0` asks for an empty 204).
pub fn wants_image(query: &str) -> bool {
    get(&parse_params(query), "send_image") != Some("0")
}

/// Whether a POST body is a bulk request (`{"requests": […]}`) rather than a form body.
pub fn is_bulk_body(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Decodes a bulk body `{"requests": ["?idsite=1&rec=1&…", …]}`; each request may also be a
/// JSON object of parameters. Like Matomo, one bad request does not sink the others.
pub fn decode_matomo_bulk(
    body: &[u8],
    ctx: &RequestContext,
    sites: &SiteRegistry,
) -> Result<BulkDecoded, MatomoError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| MatomoError::Bulk(format!("not valid JSON: {e}")))?;
    let requests = value
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| MatomoError::Bulk("expected {\"requests\": [...]}".into()))?;
    if requests.len() > MAX_BULK_REQUESTS {
        return Err(MatomoError::Bulk(format!(
            "more than {MAX_BULK_REQUESTS} requests"
        )));
    }
    // Matomo's bulk format carries one `token_auth` for all its requests.
    let token = value.get("token_auth").and_then(Value::as_str);
    let mut out = BulkDecoded::default();
    for request in requests {
        let decoded = match request {
            Value::String(query) => {
                decode_request(&parse_params(query_part(query)), ctx, sites, token)
            }
            Value::Object(object) => {
                let params: Params = object
                    .iter()
                    .filter_map(|(k, v)| scalar_text(v).map(|text| (k.clone(), text)))
                    .collect();
                decode_request(&params, ctx, sites, token)
            }
            _ => Err(MatomoError::Bulk(
                "each request must be a query string or an object".into(),
            )),
        };
        match decoded {
            Ok(request) => {
                out.tracked += 1;
                out.requests.push(request);
            }
            Err(e) => {
                out.invalid += 1;
                out.first_error.get_or_insert(e);
            }
        }
    }
    Ok(out)
}

type Params = HashMap<String, String>;

/// Parses url-encoded parameters; the first occurrence of a name wins (as in Matomo, where
/// PHP would take the last, trackers never repeat one).
fn parse_params(query: &str) -> Params {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut params = Params::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        params
            .entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    params
}

/// A bulk entry may be `?a=b`, `a=b` or a whole `/matomo.php?a=b` URL.
fn query_part(request: &str) -> &str {
    match request.split_once('?') {
        Some((_, query)) => query,
        None => request,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.into()),
        _ => None,
    }
}

/// A parameter's value; empty ones and JavaScript's stringified `undefined` / `null` (what a
/// tracker sends for an option it was not given) count as absent.
fn get<'a>(params: &'a Params, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty() && *v != "undefined" && *v != "null")
}

fn decode_request(
    params: &Params,
    ctx: &RequestContext,
    sites: &SiteRegistry,
    bulk_token: Option<&str>,
) -> Result<MatomoRequest, MatomoError> {
    let events = decode_params(params, ctx, sites)?;
    let claims = claims(params, ctx.received_at, bulk_token)?;
    Ok(MatomoRequest { events, claims })
}

/// `cip` and `cdt` with the token meant to prove them; `None` when neither was sent, or
/// when no token came with them (they are then ignored unread, as Matomo ignores them).
fn claims(
    params: &Params,
    now: DateTime<Utc>,
    bulk_token: Option<&str>,
) -> Result<Option<Claims>, MatomoError> {
    let token = get(params, "token_auth").or(bulk_token.map(str::trim).filter(|t| !t.is_empty()));
    let (cip, cdt) = (get(params, "cip"), get(params, "cdt"));
    let Some(token) = token.filter(|_| cip.is_some() || cdt.is_some()) else {
        return Ok(None);
    };
    let ip = match cip {
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| MatomoError::Invalid {
            field: "cip",
            expected: "an IPv4 or IPv6 address",
        })?),
        None => None,
    };
    let time = cdt.map(|t| parse_cdt(t, now)).transpose()?;
    Ok(Some(Claims {
        token: token.to_string(),
        ip,
        time,
    }))
}

/// Matomo's `cdt`: `YYYY-MM-DD HH:MM:SS` in UTC, or Unix seconds; within the last 24 hours.
fn parse_cdt(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, MatomoError> {
    let invalid = MatomoError::Invalid {
        field: "cdt",
        expected: "a UTC time `YYYY-MM-DD HH:MM:SS` or Unix seconds within the last 24 hours",
    };
    let time = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() => {
            DateTime::from_timestamp(seconds as i64, 0).ok_or(invalid.clone())?
        }
        _ => NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .map_err(|_| invalid.clone())?
            .and_utc(),
    };
    if time < now - MAX_CDT_AGE || time > now + CDT_CLOCK_SKEW {
        return Err(invalid);
    }
    Ok(time.min(now))
}

fn decode_params(
    params: &Params,
    ctx: &RequestContext,
    sites: &SiteRegistry,
) -> Result<Vec<RawEvent>, MatomoError> {
    if get(params, "rec") != Some("1") {
        return Err(MatomoError::NotRecorded);
    }
    let idsite = get(params, "idsite").ok_or(MatomoError::Missing("idsite"))?;
    let idsite: u32 = idsite.parse().map_err(|_| MatomoError::Invalid {
        field: "idsite",
        expected: "a positive whole number",
    })?;
    let site = sites
        .by_matomo_id(idsite)
        .ok_or(MatomoError::UnknownSite(idsite))?;

    let Some(action) = classify(params)? else {
        return Ok(Vec::new());
    };
    let url = get(params, "url").ok_or(MatomoError::Missing("url"))?;
    check_len("url", url, MAX_URL_LEN)?;
    let referrer = get(params, "urlref").unwrap_or_default();
    check_len("urlref", referrer, MAX_URL_LEN)?;

    let (name, props, revenue) = match action {
        Action::Pageview => ("pageview".to_string(), Vec::new(), None),
        Action::Event => {
            let category = get(params, "e_c").unwrap_or_default();
            let action = get(params, "e_a").ok_or(MatomoError::Missing("e_a"))?;
            let mut props = vec![prop("category", category), prop("action", action)];
            if let Some(name) = get(params, "e_n") {
                props.push(prop("name", name));
            }
            if let Some(value) = get(params, "e_v") {
                let number: f64 = value.parse().map_err(|_| MatomoError::Invalid {
                    field: "e_v",
                    expected: "a number",
                })?;
                if !number.is_finite() {
                    return Err(MatomoError::Invalid {
                        field: "e_v",
                        expected: "a number",
                    });
                }
                props.push(prop("value", value));
            }
            let name = truncate_chars(&format!("{category}: {action}"), MAX_NAME_LEN);
            (name, props, None)
        }
        Action::Search(keyword) => {
            let mut props = Vec::new();
            let results = get(params, "search_count").and_then(|c| c.parse::<u64>().ok());
            let category = get(params, "search_cat");
            if term_in_url(url, &keyword, &site) {
                props.extend(results.map(|r| prop("results", &r.to_string())));
                props.extend(category.map(|c| prop("category", c)));
                ("pageview".to_string(), props, None)
            } else {
                props.push(prop("query", &keyword));
                props.extend(results.map(|r| prop("results", &r.to_string())));
                props.extend(category.map(|c| prop("category", c)));
                ("search".to_string(), props, None)
            }
        }
        Action::Link(target) => {
            if !is_outbound(&target, url, &site) {
                return Ok(Vec::new());
            }
            (
                "Outbound Link: Click".to_string(),
                vec![prop("url", &target)],
                None,
            )
        }
        Action::Download(target) => (
            "File Download".to_string(),
            vec![prop("url", &without_query(&target))],
            None,
        ),
        Action::Order(cents) => (
            "Purchase".to_string(),
            Vec::new(),
            Some((cents, "EUR".to_string())),
        ),
    };

    Ok(vec![RawEvent {
        timestamp: ctx.received_at,
        domain: site.domain.clone(),
        name,
        url: url.to_string(),
        referrer: referrer.to_string(),
        props,
        ip: ctx.ip,
        user_agent: user_agent(params, ctx),
        revenue,
        interactive: true,
        keep_hash: false,
        scroll_depth: None,
        engaged_ms: None,
    }])
}

/// Matomo's `ua` stands for the request's User-Agent (a server-side tracker sends the
/// visitor's there); cut to the length the collector keeps of the header.
fn user_agent(params: &Params, ctx: &RequestContext) -> String {
    match get(params, "ua") {
        Some(ua) => truncate_chars(ua, MAX_USER_AGENT_LEN),
        None => ctx.user_agent.clone(),
    }
}

/// The one action a request records.
#[derive(Debug, PartialEq)]
enum Action {
    Pageview,
    Event,
    Search(String),
    Link(String),
    Download(String),
    /// An e-commerce order, revenue in cents.
    Order(i64),
}

/// What the request records, `None` for requests accepted but not stored.
fn classify(params: &Params) -> Result<Option<Action>, MatomoError> {
    if get(params, "ping").is_some_and(|p| p != "0") {
        return Ok(None);
    }
    if get(params, "e_c").is_some() || get(params, "e_a").is_some() {
        if get(params, "e_c").is_none() {
            return Err(MatomoError::Missing("e_c"));
        }
        return Ok(Some(Action::Event));
    }
    // Matomo sends an empty `search` for a search without keyword; it is still a search.
    if let Some(keyword) = params.get("search") {
        return Ok(Some(Action::Search(truncate_chars(
            keyword.trim(),
            MAX_PROP_VALUE_LEN,
        ))));
    }
    if let Some(link) = get(params, "link") {
        return Ok(Some(Action::Link(link_url("link", link)?)));
    }
    if let Some(download) = get(params, "download") {
        return Ok(Some(Action::Download(link_url("download", download)?)));
    }
    if let Some(goal) = get(params, "idgoal") {
        let is_order = goal == "0" && get(params, "ec_id").is_some();
        return match (is_order, get(params, "revenue")) {
            (true, Some(revenue)) => Ok(Some(Action::Order(parse_revenue(revenue)?))),
            _ => Ok(None),
        };
    }
    let other_action = ["ca", "c_n", "c_i", "c_p", "ma_id", "cra"]
        .iter()
        .any(|key| get(params, key).is_some_and(|v| v != "0"));
    if other_action {
        return Ok(None);
    }
    Ok(Some(Action::Pageview))
}

/// An absolute http(s) URL of a link or download.
fn link_url(field: &'static str, raw: &str) -> Result<String, MatomoError> {
    check_len(field, raw, MAX_PROP_VALUE_LEN)?;
    match url::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(raw.to_string())
        }
        _ => Err(MatomoError::Invalid {
            field,
            expected: "an absolute http(s) URL",
        }),
    }
}

fn parse_revenue(raw: &str) -> Result<i64, MatomoError> {
    raw.replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|a| a.is_finite() && a.abs() < 1e15)
        .map(|a| (a * 100.0).round() as i64)
        .ok_or(MatomoError::Invalid {
            field: "revenue",
            expected: "a number",
        })
}

/// A link leaves the site when its host is neither the page's nor one of the site's hosts.
fn is_outbound(target: &str, page: &str, site: &Site) -> bool {
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
    };
    match host(target) {
        Some(target_host) => {
            host(page).as_deref() != Some(target_host.as_str()) && !site.owns_host(&target_host)
        }
        None => false,
    }
}

/// Whether the page URL already carries `keyword` in one of the site's search parameters.
fn term_in_url(url: &str, keyword: &str, site: &Site) -> bool {
    match page_url::parse_page_url(url, site, false) {
        Ok(page) => page
            .search_term
            .is_some_and(|term| term == pii::normalize_search_term(keyword)),
        Err(_) => false,
    }
}

fn without_query(target: &str) -> String {
    match url::Url::parse(target) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => target.to_string(),
    }
}

fn prop(key: &str, value: &str) -> (String, String) {
    (key.to_string(), truncate_chars(value, MAX_PROP_VALUE_LEN))
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), MatomoError> {
    if value.chars().count() > max {
        return Err(MatomoError::TooLong { field, max });
    }
    Ok(())
}

#[cfg(test)]
#[path = "matomo_tests.rs"]
mod tests;
