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
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn ctx() -> RequestContext {
        RequestContext {
            received_at: DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            ip: Some("192.0.2.1".parse().unwrap()),
            user_agent: "Mozilla/5.0 UA".into(),
        }
    }

    fn sites() -> SiteRegistry {
        let mut enschede = Site::new("enschede.nl");
        enschede.matomo_id = 3;
        let mut other = Site::new("hengelo.nl");
        other.matomo_id = 7;
        SiteRegistry::new([enschede, other, Site::new("no-matomo.nl")])
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    const PAGE: &str = "https://www.enschede.nl/afval?x=1";

    /// `idsite=3&rec=1&url=PAGE&urlref=…` followed by `extra`.
    fn request(extra: &str) -> String {
        format!(
            "idsite=3&rec=1&url={}&urlref={}&_id=0123456789abcdef&uid=jan&cid=fedcba9876543210&cip=10.0.0.1&res=1920x1080&action_name=Afval&cdt=2001-01-01&rand=42{extra}",
            enc(PAGE),
            enc("https://www.google.nl/")
        )
    }

    /// (name, props, revenue) of the single event a request yields.
    fn one(query: &str) -> (String, Props, Option<(i64, String)>) {
        let events =
            decode_matomo(query, &ctx(), &sites()).unwrap_or_else(|e| panic!("{query}: {e}"));
        assert_eq!(events.len(), 1, "{query}");
        let e = &events[0];
        (e.name.clone(), e.props.clone(), e.revenue.clone())
    }

    type Props = Vec<(String, String)>;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn request_kinds_table() {
        let search_page = enc("https://www.enschede.nl/zoeken?q=Schuld+Hulp");
        let cases: Vec<(String, &str, Props)> = vec![
            (request(""), "pageview", vec![]),
            (
                request("&pv_id=abc123&gt_ms=20&pf_net=3"),
                "pageview",
                vec![],
            ),
            (
                request("&e_c=Formulier&e_a=Verzonden&e_n=paspoort&e_v=2.5"),
                "Formulier: Verzonden",
                props(&[
                    ("category", "Formulier"),
                    ("action", "Verzonden"),
                    ("name", "paspoort"),
                    ("value", "2.5"),
                ]),
            ),
            (
                request("&e_c=Video&e_a=Play"),
                "Video: Play",
                props(&[("category", "Video"), ("action", "Play")]),
            ),
            (
                request("&search=Schuldhulp&search_cat=Diensten&search_count=4"),
                "search",
                props(&[
                    ("query", "Schuldhulp"),
                    ("results", "4"),
                    ("category", "Diensten"),
                ]),
            ),
            (
                request("&search=paspoort"),
                "search",
                props(&[("query", "paspoort")]),
            ),
            (
                request("&search=paspoort&search_count=abc"),
                "search",
                props(&[("query", "paspoort")]),
            ),
            // The term is in the page URL: the search results page's own pageview.
            (
                format!(
                    "{}&search=schuld%20hulp&search_count=0",
                    request("").replace(&enc(PAGE), &search_page)
                ),
                "pageview",
                props(&[("results", "0")]),
            ),
            (
                format!(
                    "{}&search=schuldhulp&search_cat=Alles",
                    request("").replace(&enc(PAGE), &search_page)
                ),
                "search",
                props(&[("query", "schuldhulp"), ("category", "Alles")]),
            ),
            (
                request(&format!(
                    "&link={}",
                    enc("https://www.rijksoverheid.nl/a?b=c#d")
                )),
                "Outbound Link: Click",
                props(&[("url", "https://www.rijksoverheid.nl/a?b=c#d")]),
            ),
            (
                request(&format!(
                    "&download={}",
                    enc("https://www.enschede.nl/docs/folder.pdf?v=2#p3")
                )),
                "File Download",
                props(&[("url", "https://www.enschede.nl/docs/folder.pdf")]),
            ),
            (
                request("&idgoal=0&ec_id=A-17&revenue=12.50&ec_st=10"),
                "Purchase",
                vec![],
            ),
        ];
        for (query, name, expected_props) in cases {
            let (got_name, got_props, _) = one(&query);
            assert_eq!(
                (got_name.as_str(), &got_props),
                (name, &expected_props),
                "{query}"
            );
        }
    }

    #[test]
    fn first_parameter_wins_and_pageview_fields() {
        let twice = format!("{}&url={}", request(""), enc("https://elders.nl/"));
        let events = decode_matomo(&twice, &ctx(), &sites()).unwrap();
        let e = &events[0];
        assert_eq!(e.domain, "enschede.nl");
        assert_eq!(e.url, PAGE);
        assert_eq!(e.referrer, "https://www.google.nl/");
        assert_eq!(
            e.timestamp,
            ctx().received_at,
            "cdt without token_auth is ignored"
        );
        assert_eq!(e.ip, ctx().ip, "cip without token_auth is ignored");
        assert_eq!(e.user_agent, "Mozilla/5.0 UA");
        assert!(e.interactive && !e.keep_hash && e.revenue.is_none());
        assert!(
            e.props.is_empty(),
            "_id, uid, res, action_name are not kept: {:?}",
            e.props
        );
    }

    #[test]
    fn javascript_undefined_is_absent() {
        let (name, got, _) = one(&request(
            "&e_c=Video&e_a=Play&e_n=undefined&e_v=undefined&mtm_campaign=undefined",
        ));
        assert_eq!(
            (name.as_str(), got),
            (
                "Video: Play",
                props(&[("category", "Video"), ("action", "Play")])
            )
        );
        let (name, got, _) = one(&request(
            "&search=wmo&search_cat=undefined&search_count=null",
        ));
        assert_eq!((name.as_str(), got), ("search", props(&[("query", "wmo")])));
        assert_eq!(
            decode_matomo("idsite=3&rec=1&url=undefined", &ctx(), &sites()),
            Err(MatomoError::Missing("url"))
        );
    }

    #[test]
    fn order_revenue_is_in_euro_cents() {
        assert_eq!(
            one(&request("&idgoal=0&ec_id=A-17&revenue=12.50")).2,
            Some((1250, "EUR".into()))
        );
        assert_eq!(
            one(&request("&idgoal=0&ec_id=A-17&revenue=7")).2,
            Some((700, "EUR".into()))
        );
    }

    #[test]
    fn requests_that_store_nothing() {
        let internal_link = format!("&link={}", enc("https://loket.enschede.nl/x"));
        let same_host_link = format!("&link={}", enc("https://www.enschede.nl/contact"));
        for extra in [
            "&ping=1",
            "&idgoal=2&revenue=5",
            "&idgoal=0&revenue=5",
            "&ca=1",
            "&c_n=Banner&c_p=x",
            "&ma_id=v1&ma_ti=Film",
            internal_link.as_str(),
            same_host_link.as_str(),
        ] {
            let events = decode_matomo(&request(extra), &ctx(), &sites()).unwrap();
            assert!(events.is_empty(), "{extra}: {events:?}");
        }
        // A ping needs no url.
        assert!(decode_matomo("idsite=3&rec=1&ping=1", &ctx(), &sites())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn malformed_requests_are_clear_errors() {
        let cases: Vec<(String, MatomoError)> = vec![
            ("".into(), MatomoError::NotRecorded),
            (
                "idsite=3&url=https%3A%2F%2Fenschede.nl%2F".into(),
                MatomoError::NotRecorded,
            ),
            (
                "idsite=3&rec=0&url=https%3A%2F%2Fenschede.nl%2F".into(),
                MatomoError::NotRecorded,
            ),
            (
                "rec=1&url=https%3A%2F%2Fenschede.nl%2F".into(),
                MatomoError::Missing("idsite"),
            ),
            (
                "idsite=abc&rec=1".into(),
                MatomoError::Invalid {
                    field: "idsite",
                    expected: "a positive whole number",
                },
            ),
            (
                "idsite=-1&rec=1".into(),
                MatomoError::Invalid {
                    field: "idsite",
                    expected: "a positive whole number",
                },
            ),
            (
                "idsite=99&rec=1&url=https%3A%2F%2Fenschede.nl%2F".into(),
                MatomoError::UnknownSite(99),
            ),
            (
                "idsite=0&rec=1&url=https%3A%2F%2Fno-matomo.nl%2F".into(),
                MatomoError::UnknownSite(0),
            ),
            ("idsite=3&rec=1".into(), MatomoError::Missing("url")),
            ("idsite=3&rec=1&url=".into(), MatomoError::Missing("url")),
            (request("&e_c=Video"), MatomoError::Missing("e_a")),
            (request("&e_a=Play"), MatomoError::Missing("e_c")),
            (
                request("&e_c=V&e_a=P&e_v=veel"),
                MatomoError::Invalid {
                    field: "e_v",
                    expected: "a number",
                },
            ),
            (
                request("&link=javascript%3Aalert(1)"),
                MatomoError::Invalid {
                    field: "link",
                    expected: "an absolute http(s) URL",
                },
            ),
            (
                request("&download=%2Frelative.pdf"),
                MatomoError::Invalid {
                    field: "download",
                    expected: "an absolute http(s) URL",
                },
            ),
            (
                request("&idgoal=0&ec_id=1&revenue=veel"),
                MatomoError::Invalid {
                    field: "revenue",
                    expected: "a number",
                },
            ),
            (
                format!(
                    "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F{}",
                    "a".repeat(MAX_URL_LEN)
                ),
                MatomoError::TooLong {
                    field: "url",
                    max: MAX_URL_LEN,
                },
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(
                decode_matomo(&query, &ctx(), &sites()),
                Err(expected),
                "{query}"
            );
        }
    }

    #[test]
    fn idsite_maps_to_the_site_and_leading_question_mark() {
        let query = "?idsite=7&rec=1&url=https%3A%2F%2Fhengelo.nl%2Fa%20b";
        let events = decode_matomo(query, &ctx(), &sites()).unwrap();
        assert_eq!(
            (events[0].domain.as_str(), events[0].url.as_str()),
            ("hengelo.nl", "https://hengelo.nl/a b")
        );
    }

    #[test]
    fn long_values_are_cut_not_refused() {
        let long = "é".repeat(MAX_PROP_VALUE_LEN + 10);
        let (name, props, _) = one(&request(&format!(
            "&e_c={}&e_a={}&e_n={}",
            enc(&long),
            enc("a"),
            enc(&long)
        )));
        assert_eq!(name.chars().count(), MAX_NAME_LEN);
        assert_eq!(props[2].1.chars().count(), MAX_PROP_VALUE_LEN);
    }

    #[test]
    fn bulk_requests() {
        let body = serde_json::json!({
            "requests": [
                format!("?{}", request("")),
                format!("/matomo.php?{}", request("&e_c=A&e_a=B")),
                request("&ping=1"),
                "?idsite=99&rec=1&url=https%3A%2F%2Fx.nl%2F",
                {"idsite": 3, "rec": 1, "url": "https://enschede.nl/json", "search": "wmo", "search_count": 2},
                17
            ]
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        assert!(is_bulk_body(&bytes));
        let decoded = decode_matomo_bulk(&bytes, &ctx(), &sites()).unwrap();
        let events: Vec<&RawEvent> = decoded.events().collect();
        let names: Vec<&str> = events.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["pageview", "A: B", "search"]);
        assert_eq!(
            events[2].props,
            props(&[("query", "wmo"), ("results", "2")])
        );
        assert_eq!((decoded.tracked, decoded.invalid), (4, 2));
        assert_eq!(decoded.first_error, Some(MatomoError::UnknownSite(99)));
    }

    #[test]
    fn send_image() {
        assert!(wants_image("idsite=1&rec=1"));
        assert!(wants_image("?send_image=1"));
        assert!(!wants_image("?idsite=1&send_image=0"));
    }

    #[test]
    fn bad_bulk_bodies() {
        for body in [&b"{"[..], b"{}", br#"{"requests": "x"}"#, b"[]"] {
            assert!(
                matches!(
                    decode_matomo_bulk(body, &ctx(), &sites()),
                    Err(MatomoError::Bulk(_))
                ),
                "{body:?}"
            );
        }
        let too_many = serde_json::json!({ "requests": vec![request(""); MAX_BULK_REQUESTS + 1] });
        let bytes = serde_json::to_vec(&too_many).unwrap();
        assert!(matches!(
            decode_matomo_bulk(&bytes, &ctx(), &sites()),
            Err(MatomoError::Bulk(_))
        ));
        assert!(!is_bulk_body(b"idsite=1&rec=1"));
        assert!(is_bulk_body(b"  \n{\"requests\":[]}"));
    }

    #[test]
    fn garbage_never_panics() {
        for query in [
            "%",
            "%%%",
            "&&&=",
            "idsite=3&rec=1&url=%FF%FE",
            "idsite=4294967296&rec=1",
            "rec=1&idsite=3&url=https%3A%2F%2F%5B%3A%3A1",
        ] {
            let _ = decode_matomo(query, &ctx(), &sites());
        }
    }

    #[test]
    fn ua_stands_for_the_user_agent() {
        let query = format!("{}&ua=Mozilla%2F5.0%20(X11)", request(""));
        let events = decode_matomo(&query, &ctx(), &sites()).unwrap();
        assert_eq!(events[0].user_agent, "Mozilla/5.0 (X11)");
        let events = decode_matomo(&request(""), &ctx(), &sites()).unwrap();
        assert_eq!(
            events[0].user_agent,
            ctx().user_agent,
            "no ua: the header's"
        );
    }

    #[test]
    fn cip_and_cdt_become_claims_only_with_a_token() {
        let decoded = decode_matomo_request(&request(""), &ctx(), &sites()).unwrap();
        assert_eq!(
            decoded.claims, None,
            "no token_auth: nothing to check, nothing applied"
        );

        let query = "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&token_auth=abc\
                     &cip=2001%3Adb8%3A%3A7&cdt=2026-11-29%2009%3A30%3A00";
        let mut decoded = decode_matomo_request(query, &ctx(), &sites()).unwrap();
        let claims = decoded.claims.clone().expect("claims");
        assert_eq!(claims.token, "abc");
        assert_eq!(claims.ip, Some("2001:db8::7".parse().unwrap()));
        let time = DateTime::parse_from_rfc3339("2026-11-29T09:30:00Z").unwrap();
        assert_eq!(claims.time, Some(time.with_timezone(&Utc)));
        claims.apply(&mut decoded.events);
        assert_eq!(decoded.events[0].ip, claims.ip);
        assert_eq!(decoded.events[0].timestamp, time);

        let unix = "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&token_auth=abc&cdt=1795942800";
        let decoded = decode_matomo_request(unix, &ctx(), &sites()).unwrap();
        assert_eq!(
            decoded.claims.unwrap().time.unwrap().to_rfc3339(),
            "2026-11-29T09:00:00+00:00"
        );
    }

    #[test]
    fn claims_out_of_bounds_are_refused() {
        let base = "idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&token_auth=abc";
        for (extra, field) in [
            ("&cip=10.0.0", "cip"),
            ("&cdt=2026-11-27%2009%3A59%3A59", "cdt"),
            ("&cdt=2026-11-29%2011%3A00%3A00", "cdt"),
            ("&cdt=gisteren", "cdt"),
        ] {
            let err = decode_matomo_request(&format!("{base}{extra}"), &ctx(), &sites())
                .expect_err(extra);
            assert!(
                matches!(err, MatomoError::Invalid { field: f, .. } if f == field),
                "{extra}: {err}"
            );
        }
    }

    #[test]
    fn a_bulk_token_covers_its_requests() {
        let body = serde_json::json!({
            "requests": ["?idsite=3&rec=1&url=https%3A%2F%2Fenschede.nl%2F&cip=192.0.2.9"],
            "token_auth": "bulk-token"
        });
        let decoded = decode_matomo_bulk(body.to_string().as_bytes(), &ctx(), &sites()).unwrap();
        assert_eq!(
            decoded.requests[0].claims.as_ref().unwrap().token,
            "bulk-token"
        );
    }
}
