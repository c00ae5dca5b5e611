//! Decode for `luister import --format combined`: a line of a web server's access log
//! becomes a pageview, or the reason it is not one.
//!
//! The format is the "combined" log of nginx and Apache
//! (`IP - user [10/Oct/2026:13:55:36 +0200] "GET /path?q HTTP/1.1" 200 512 "referrer" "agent"`),
//! optionally with the virtual host first (Apache's `vhost_combined`, `host:port IP …`,
//! or nginx's `$host $remote_addr …`). Only page views count: a `GET` answered 2xx or 304
//! (the browser showed its cached copy) whose path does not end in the extension of an
//! asset or a download (`.css`, `.png`, `.pdf`, …; `/nieuws/versie-2.0` is a page).
//! Everything else is a [`Skip`] with a reason, counted by the importer. Bots are left to the pipeline, exactly as for live events; the address is
//! used, as a live one is, for the visitor hash and the geo lookup only.

use crate::decode::{decode_plausible, RequestContext};
use chrono::{DateTime, Utc};
use luister_model::RawEvent;
use serde_json::json;
use std::net::IpAddr;

/// Extensions of files that are no page: assets, downloads, feeds and machine files.
const FILE_EXTENSIONS: &[&str] = &[
    "css",
    "js",
    "mjs",
    "map",
    "png",
    "jpg",
    "jpeg",
    "gif",
    "svg",
    "ico",
    "webp",
    "avif",
    "bmp",
    "tif",
    "tiff",
    "woff",
    "woff2",
    "ttf",
    "otf",
    "eot",
    "pdf",
    "doc",
    "docx",
    "xls",
    "xlsx",
    "ppt",
    "pptx",
    "odt",
    "ods",
    "odp",
    "rtf",
    "csv",
    "txt",
    "xml",
    "json",
    "rss",
    "atom",
    "ics",
    "epub",
    "zip",
    "gz",
    "tgz",
    "rar",
    "7z",
    "mp3",
    "mp4",
    "m4a",
    "webm",
    "ogg",
    "wav",
    "avi",
    "mov",
    "wasm",
    "webmanifest",
];

/// Why a log line is not stored as a pageview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// Not a line of the combined format.
    Malformed(String),
    /// A method other than `GET`.
    NotGet,
    /// A redirect (301, 302, 307, 308…): the page it leads to is logged on its own.
    Redirect,
    /// An error answer (4xx, 5xx) or another status that shows no page.
    NoPage(u16),
    /// A file that is not a page (`.css`, `.png`, `.pdf`, …).
    NotHtml,
}

impl Skip {
    /// The reason as the import report counts it.
    pub fn reason(&self) -> String {
        match self {
            Self::Malformed(_) => "malformed".into(),
            Self::NotGet => "not_get".into(),
            Self::Redirect => "redirect".into(),
            Self::NoPage(status) => format!("status_{}xx", status / 100),
            Self::NotHtml => "not_html".into(),
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogLine {
    /// The virtual host, without port, when the log has that column.
    pub host: Option<String>,
    pub ip: IpAddr,
    pub timestamp: DateTime<Utc>,
    pub method: String,
    /// The request target: path and query string.
    pub target: String,
    pub status: u16,
    pub referrer: Option<String>,
    pub user_agent: String,
}

/// Parses one line of the combined format (with or without the virtual host column).
pub fn parse_line(line: &str) -> Result<AccessLogLine, String> {
    let mut rest = line.trim();
    let mut first = next_word(&mut rest).ok_or("empty line")?;
    let mut host = None;
    if first.parse::<IpAddr>().is_err() {
        host = Some(strip_port(first).to_ascii_lowercase());
        first = next_word(&mut rest).ok_or("no client address after the host")?;
    }
    let ip = first
        .parse::<IpAddr>()
        .map_err(|_| format!("{first:?} is not a client address"))?;
    // identd and user: not used.
    next_word(&mut rest).ok_or("no ident field")?;
    next_word(&mut rest).ok_or("no user field")?;
    let time = bracketed(&mut rest).ok_or("no [time]")?;
    let timestamp = DateTime::parse_from_str(time, "%d/%b/%Y:%H:%M:%S %z")
        .map_err(|_| format!("time {time:?} is not like 10/Oct/2026:13:55:36 +0200"))?
        .to_utc();
    let request = quoted(&mut rest).ok_or("no \"request\"")?;
    // nginx writes `"-"` for a connection that sent no request (a 400 or 408).
    let mut parts = request.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let status_text = next_word(&mut rest).ok_or("no status")?;
    let status = status_text
        .parse::<u16>()
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| format!("status {status_text:?} is not an HTTP status"))?;
    next_word(&mut rest).ok_or("no size field")?;
    let referrer = quoted(&mut rest).ok_or("no \"referrer\"")?;
    let user_agent = quoted(&mut rest).ok_or("no \"user agent\"")?;
    Ok(AccessLogLine {
        host,
        ip,
        timestamp,
        method,
        target,
        status,
        referrer: Some(unescape(referrer)).filter(|r| !r.is_empty() && r != "-"),
        user_agent: Some(unescape(user_agent))
            .filter(|ua| ua != "-")
            .unwrap_or_default(),
    })
}

/// The pageview of a line for the site `domain`, or why there is none.
pub fn decode_line(line: &str, domain: Option<&str>) -> Result<RawEvent, Skip> {
    let entry = parse_line(line).map_err(Skip::Malformed)?;
    match entry.status {
        200..=299 | 304 => {}
        300..=399 => return Err(Skip::Redirect),
        status => return Err(Skip::NoPage(status)),
    }
    if entry.method != "GET" {
        return Err(Skip::NotGet);
    }
    if !entry.target.starts_with('/') {
        return Err(Skip::Malformed(format!(
            "request target {:?} is not a path",
            entry.target
        )));
    }
    if !is_page(&entry.target) {
        return Err(Skip::NotHtml);
    }
    let domain = domain
        .or(entry.host.as_deref())
        .ok_or_else(|| Skip::Malformed("no virtual host column: give the site".into()))?;
    let host = entry.host.as_deref().unwrap_or(domain);
    let ctx = RequestContext {
        received_at: entry.timestamp,
        ip: Some(entry.ip),
        user_agent: entry.user_agent.clone(),
    };
    let body = json!({
        "n": "pageview",
        "u": format!("https://{host}{}", entry.target),
        "d": domain,
        "r": entry.referrer,
    });
    let mut events = decode_plausible(body.to_string().as_bytes(), &ctx)
        .map_err(|e| Skip::Malformed(e.to_string()))?;
    events
        .pop()
        .ok_or_else(|| Skip::Malformed("no event".into()))
}

/// Whether the path of `target` names a page: it does not end in a file's extension.
fn is_page(target: &str) -> bool {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let last = path.rsplit('/').next().unwrap_or_default();
    match last.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => {
            !FILE_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str())
        }
        _ => true,
    }
}

fn next_word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let text = rest.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text.find(' ').unwrap_or(text.len());
    let (word, tail) = text.split_at(end);
    *rest = tail;
    Some(word)
}

fn bracketed<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let text = rest.trim_start().strip_prefix('[')?;
    let end = text.find(']')?;
    *rest = &text[end + 1..];
    Some(&text[..end])
}

/// A `"…"` field; `\"` and `\\` inside are escapes (nginx and Apache both write them).
fn quoted<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let text = rest.trim_start().strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                *rest = &text[i + 1..];
                return Some(&text[..i]);
            }
            _ => escaped = false,
        }
    }
    None
}

/// Undoes the escapes of both servers: `\"` and `\\` (Apache, nginx) and `\xHH` (nginx
/// writes `"` and every byte outside printable ASCII so); the bytes are read as UTF-8.
fn unescape(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_byte = bytes
            .get(i + 2..i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], bytes.get(i + 1), hex_byte) {
            (b'\\', Some(b'x'), Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (b'\\', Some(&next @ (b'"' | b'\\')), _) => {
                out.push(next);
                i += 2;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

    fn line(host: &str, request: &str, status: u16, referrer: &str) -> String {
        format!("{host}203.0.113.9 - - [02/Nov/2026:10:15:00 +0100] \"{request}\" {status} 5120 \"{referrer}\" \"{FIREFOX}\"")
    }

    #[test]
    fn a_combined_line_becomes_a_pageview() {
        let event = decode_line(
            &line(
                "",
                "GET /afval?q=container HTTP/1.1",
                200,
                "https://www.google.nl/",
            ),
            Some("enschede.nl"),
        )
        .unwrap();
        assert_eq!(event.name, "pageview");
        assert_eq!(event.url, "https://enschede.nl/afval?q=container");
        assert_eq!(event.referrer, "https://www.google.nl/");
        assert_eq!(event.ip, Some("203.0.113.9".parse().unwrap()));
        assert_eq!(event.user_agent, FIREFOX);
        assert_eq!(event.timestamp.to_rfc3339(), "2026-11-02T09:15:00+00:00");
    }

    #[test]
    fn the_virtual_host_column_names_the_site_and_the_url_host() {
        let text = line("www.enschede.nl:443 ", "GET / HTTP/2.0", 304, "-");
        let event = decode_line(&text, None).unwrap();
        assert_eq!(
            (event.domain.as_str(), event.url.as_str()),
            ("www.enschede.nl", "https://www.enschede.nl/")
        );
        assert_eq!(event.referrer, "", "a `-` referrer is none");
        let given = decode_line(&text, Some("enschede.nl")).unwrap();
        assert_eq!(given.domain, "enschede.nl");
        let nginx = line("enschede.nl ", "GET /a HTTP/1.1", 200, "-");
        assert_eq!(
            decode_line(&nginx, None).unwrap().url,
            "https://enschede.nl/a"
        );
    }

    #[test]
    fn what_is_not_a_page_view_says_why() {
        let site = Some("enschede.nl");
        for (request, status, skip) in [
            ("POST /formulier HTTP/1.1", 200, Skip::NotGet),
            ("HEAD / HTTP/1.1", 200, Skip::NotGet),
            ("GET /oud HTTP/1.1", 301, Skip::Redirect),
            ("GET /weg HTTP/1.1", 404, Skip::NoPage(404)),
            ("GET / HTTP/1.1", 503, Skip::NoPage(503)),
            ("GET /css/site.css?v=3 HTTP/1.1", 200, Skip::NotHtml),
            ("GET /docs/tarieven.PDF HTTP/1.1", 200, Skip::NotHtml),
            ("GET /favicon.ico HTTP/1.1", 200, Skip::NotHtml),
            ("GET /sitemap.xml HTTP/1.1", 200, Skip::NotHtml),
            ("-", 400, Skip::NoPage(400)),
            ("POST /formulier HTTP/1.1", 404, Skip::NoPage(404)),
        ] {
            assert_eq!(
                decode_line(&line("", request, status, "-"), site),
                Err(skip),
                "{request} {status}"
            );
        }
        for page in [
            "/",
            "/afval",
            "/index.html",
            "/zoeken.php?q=a.b",
            "/.well-known/",
            "/v1.2/",
        ] {
            assert!(is_page(page), "{page}");
        }
        assert_eq!(Skip::NoPage(404).reason(), "status_4xx");
    }

    #[test]
    fn malformed_lines_are_refused_with_a_reason() {
        for bad in [
            "",
            "not a log line",
            "203.0.113.9 - - [yesterday] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\"",
            "203.0.113.9 - - [02/Nov/2026:10:15:00 +0100] \"GET / HTTP/1.1\" 999 1 \"-\" \"x\"",
            "203.0.113.9 - - [02/Nov/2026:10:15:00 +0100] \"GET / HTTP/1.1\" 200 1 \"-\"",
            "203.0.113.9 - - [02/Nov/2026:10:15:00 +0100] \"\\x16\\x03\" 400 1 \"-\" \"-\"",
        ] {
            assert!(
                matches!(
                    decode_line(bad, Some("enschede.nl")),
                    Err(Skip::Malformed(_)) | Err(Skip::NoPage(_)) | Err(Skip::NotGet)
                ),
                "{bad:?}"
            );
        }
        let no_site = line("", "GET / HTTP/1.1", 200, "-");
        assert!(matches!(
            decode_line(&no_site, None),
            Err(Skip::Malformed(_))
        ));
    }

    #[test]
    fn nginx_hex_escapes_are_decoded() {
        let text = "203.0.113.9 - - [02/Nov/2026:10:15:00 +0000] \"GET / HTTP/1.1\" 200 1 \"https://x.nl/?q=caf\\xC3\\xA9 \\x22\\x2\" \"Mozilla/5.0\"";
        let entry = parse_line(text).unwrap();
        assert_eq!(
            entry.referrer.as_deref(),
            Some("https://x.nl/?q=café \"\\x2")
        );
    }

    #[test]
    fn escaped_quotes_in_agents_and_referrers() {
        let text = "203.0.113.9 - - [02/Nov/2026:10:15:00 +0000] \"GET / HTTP/1.1\" 200 1 \"https://x.nl/?a=\\\"b\\\"\" \"Mozilla/5.0 \\\"quoted\\\"\"";
        let entry = parse_line(text).unwrap();
        assert_eq!(entry.referrer.as_deref(), Some("https://x.nl/?a=\"b\""));
        assert_eq!(entry.user_agent, "Mozilla/5.0 \"quoted\"");
    }
}
