//! Splitting a page URL into what is stored: hostname, pathname (without the query string but
//! for a site's allow-listed parameters), campaign tags (`utm_*`), a paid-click marker and the
//! site-search term.
//!
//! Everything taken from the URL is scrubbed of personal data here. This module does not check
//! that the hostname belongs to the site (validation does) and does not classify the campaign
//! (the referrer module does).

use super::pii::{self, truncate_on_char_boundary};
use luister_model::Site;
use percent_encoding::percent_decode_str;
use std::borrow::Cow;
use url::Url;

/// Longest stored pathname, query and fragment included.
pub const MAX_PATHNAME_BYTES: usize = 2048;
/// Longest stored `utm_*` value.
pub const MAX_UTM_BYTES: usize = 256;

/// The parts of a page URL that are stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageUrl {
    /// Lower-case host without port (`www.` kept as sent).
    pub hostname: String,
    /// Decoded path, then `?k=v&…` for allow-listed parameters, then `#fragment` when asked.
    pub pathname: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_content: String,
    pub utm_term: String,
    /// Normalised term of a site search (one of the site's search parameters), if any.
    pub search_term: Option<String>,
    /// An ad network's click id in the URL (auto-tagged paid traffic).
    pub click_id: Option<ClickId>,
}

/// Click ids that mark a visit as paid search even without `utm_medium`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickId {
    /// Google Ads (`gclid`).
    Gclid,
    /// Microsoft Advertising (`msclkid`).
    Msclkid,
}

/// Why a page URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageUrlError {
    #[error("page url is empty")]
    Empty,
    #[error("page url is not a valid url: {0}")]
    Invalid(String),
    #[error("page url scheme {0:?} is not http or https")]
    UnsupportedScheme(String),
    #[error("page url has no host")]
    MissingHost,
}

/// Parses `url` for `site`; `keep_hash` keeps the fragment (Plausible's `h`).
pub fn parse_page_url(url: &str, site: &Site, keep_hash: bool) -> Result<PageUrl, PageUrlError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(PageUrlError::Empty);
    }
    let parsed = Url::parse(url).map_err(|e| PageUrlError::Invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(PageUrlError::UnsupportedScheme(parsed.scheme().to_string()));
    }
    let hostname = parsed
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .ok_or(PageUrlError::MissingHost)?;

    let params: Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> =
        parsed.query().map(parse_query).unwrap_or_default();

    let mut pathname = scrub_owned(decode(parsed.path()));
    if pathname.is_empty() {
        pathname.push('/');
    }
    let kept: Vec<String> = params
        .iter()
        .filter(|(key, _)| site.allowed_params.iter().any(|p| p == key))
        .map(|(key, value)| match value {
            Some(value) => format!("{}={}", pii::scrub(key), pii::scrub(value)),
            None => pii::scrub(key).into_owned(),
        })
        .collect();
    if !kept.is_empty() {
        pathname.push('?');
        pathname.push_str(&kept.join("&"));
    }
    if keep_hash {
        if let Some(fragment) = parsed.fragment().filter(|f| !f.is_empty()) {
            pathname.push('#');
            pathname.push_str(&scrub_owned(decode(fragment)));
        }
    }

    let param = |name: &str| -> Option<&str> {
        params
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .filter_map(|(_, value)| value.as_deref().map(str::trim))
            .find(|value| !value.is_empty())
    };
    let utm = |names: &[&str]| -> String {
        names
            .iter()
            .find_map(|name| param(name))
            .map(|value| truncate_on_char_boundary(scrub_owned(value.into()), MAX_UTM_BYTES))
            .unwrap_or_default()
    };
    let search_term = params
        .iter()
        .filter(|(key, _)| {
            site.search_params
                .iter()
                .any(|p| p.eq_ignore_ascii_case(key))
        })
        .filter_map(|(_, value)| value.as_deref())
        .map(pii::normalize_search_term)
        .find(|term| !term.is_empty());
    let click_id = if param("gclid").is_some() {
        Some(ClickId::Gclid)
    } else if param("msclkid").is_some() {
        Some(ClickId::Msclkid)
    } else {
        None
    };

    Ok(PageUrl {
        hostname,
        pathname: truncate_on_char_boundary(pathname, MAX_PATHNAME_BYTES),
        // Plausible's order: utm_source, then source, then ref.
        utm_source: utm(&["utm_source", "source", "ref"]),
        utm_medium: utm(&["utm_medium"]),
        utm_campaign: utm(&["utm_campaign"]),
        utm_content: utm(&["utm_content"]),
        utm_term: utm(&["utm_term"]),
        search_term,
        click_id,
    })
}

/// A link or download URL in a property value, without its query string and fragment (which
/// carry session ids and personal data as often as a page's do); `None` when `value` is not
/// an absolute http(s) URL with something to remove.
pub fn link_without_query(value: &str) -> Option<Cow<'_, str>> {
    let trimmed = value.trim();
    let scheme = trimmed.get(..8)?.to_ascii_lowercase();
    if !(scheme.starts_with("http://") || scheme.starts_with("https://")) {
        return None;
    }
    let end = trimmed.find(['?', '#'])?;
    Some(Cow::Borrowed(&trimmed[..end]))
}

/// Splits a raw query string into decoded `(key, value)` pairs in their original order;
/// the value is `None` for a bare key (`?print`).
fn parse_query(query: &str) -> Vec<(Cow<'_, str>, Option<Cow<'_, str>>)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((key, value)) => (decode_form(key), Some(decode_form(value))),
            None => (decode_form(part), None),
        })
        .collect()
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn decode_form(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(decode(&s.replace('+', " ")).into_owned())
    } else {
        decode(s)
    }
}

fn decode(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

fn scrub_owned(s: Cow<'_, str>) -> String {
    match pii::scrub(&s) {
        Cow::Borrowed(_) => s.into_owned(),
        Cow::Owned(scrubbed) => scrubbed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        let mut site = Site::new("enschede.nl");
        site.allowed_params = vec!["page".into(), "id".into()];
        site
    }

    fn parse(url: &str) -> PageUrl {
        parse_page_url(url, &site(), false).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn hostname_and_pathname() {
        let cases: &[(&str, &str, &str)] = &[
            ("https://www.Enschede.nl/afval", "www.enschede.nl", "/afval"),
            ("https://enschede.nl:8443/afval/", "enschede.nl", "/afval/"),
            ("https://enschede.nl", "enschede.nl", "/"),
            ("http://enschede.nl./x", "enschede.nl", "/x"),
            (
                "https://enschede.nl/caf%C3%A9%20de%20pool",
                "enschede.nl",
                "/café de pool",
            ),
            ("https://enschede.nl/%FF", "enschede.nl", "/\u{FFFD}"),
            ("https://enschede.nl/a?b=1&c=2", "enschede.nl", "/a"),
            (
                "https://enschede.nl/a?page=2&x=1&id=7",
                "enschede.nl",
                "/a?page=2&id=7",
            ),
            (
                "https://enschede.nl/a?id=7&page=2",
                "enschede.nl",
                "/a?id=7&page=2",
            ),
            ("https://enschede.nl/a?page", "enschede.nl", "/a?page"),
            ("https://enschede.nl/a#sectie", "enschede.nl", "/a"),
            ("  https://enschede.nl/a  ", "enschede.nl", "/a"),
            ("https://[::1]:8080/a", "[::1]", "/a"),
        ];
        for (url, host, path) in cases {
            let page = parse(url);
            assert_eq!(page.hostname, *host, "{url}");
            assert_eq!(page.pathname, *path, "{url}");
        }
    }

    #[test]
    fn fragment_kept_only_when_asked() {
        let page = parse_page_url("https://enschede.nl/app?page=3#/stap/2", &site(), true).unwrap();
        assert_eq!(page.pathname, "/app?page=3#/stap/2");
        let page = parse_page_url("https://enschede.nl/app#", &site(), true).unwrap();
        assert_eq!(page.pathname, "/app");
    }

    #[test]
    fn personal_data_is_scrubbed() {
        let cases: &[(&str, &str)] = &[
            (
                "https://enschede.nl/zoeken/jan.jansen@example.nl",
                "/zoeken/[email]",
            ),
            ("https://enschede.nl/bsn/111222333", "/bsn/[bsn]"),
            (
                "https://enschede.nl/contact/jan%40example.nl",
                "/contact/[email]",
            ),
            ("https://enschede.nl/a?id=0612345678", "/a?id=[telefoon]"),
            ("https://enschede.nl/a?email=jan@example.nl", "/a"),
            (
                "https://enschede.nl/nieuws/2026-11-29",
                "/nieuws/2026-11-29",
            ),
        ];
        for (url, path) in cases {
            assert_eq!(parse(url).pathname, *path, "{url}");
        }
        let page = parse_page_url("https://enschede.nl/#tel-0612345678", &site(), true).unwrap();
        assert_eq!(page.pathname, "/#tel-[telefoon]");
    }

    #[test]
    fn campaign_tags() {
        let page = parse(
            "https://enschede.nl/?utm_source=Nieuwsbrief&utm_medium=email&utm_campaign=afval%202026\
             &utm_content=knop&utm_term=%20container%20&gclid=abc",
        );
        assert_eq!(page.utm_source, "Nieuwsbrief");
        assert_eq!(page.utm_medium, "email");
        assert_eq!(page.utm_campaign, "afval 2026");
        assert_eq!(page.utm_content, "knop");
        assert_eq!(page.utm_term, "container");
        assert_eq!(page.click_id, Some(ClickId::Gclid));
        assert_eq!(page.pathname, "/");

        assert_eq!(
            parse("https://enschede.nl/?ref=producthunt").utm_source,
            "producthunt"
        );
        assert_eq!(
            parse("https://enschede.nl/?source=nu.nl&ref=x").utm_source,
            "nu.nl"
        );
        assert_eq!(
            parse("https://enschede.nl/?utm_source=&ref=x").utm_source,
            "x"
        );
        assert_eq!(
            parse("https://enschede.nl/?utm_source=jan%40example.nl").utm_source,
            "[email]"
        );
        assert_eq!(
            parse("https://enschede.nl/?msclkid=1").click_id,
            Some(ClickId::Msclkid)
        );
        assert_eq!(parse("https://enschede.nl/").click_id, None);
        let long = format!("https://enschede.nl/?utm_campaign={}", "x".repeat(1000));
        assert_eq!(parse(&long).utm_campaign.len(), MAX_UTM_BYTES);
    }

    #[test]
    fn search_terms() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "https://enschede.nl/zoeken?q=Paspoort+Aanvragen",
                Some("paspoort aanvragen"),
            ),
            (
                "https://enschede.nl/zoeken?zoekterm=%20Afval%20%20Kalender",
                Some("afval kalender"),
            ),
            (
                "https://enschede.nl/?s=jan%40example.nl",
                Some("[verwijderd]"),
            ),
            ("https://enschede.nl/?q=&query=parkeren", Some("parkeren")),
            ("https://enschede.nl/?q=+++", None),
            ("https://enschede.nl/?page=2", None),
            ("https://enschede.nl/?Q=Hond", Some("hond")),
        ];
        for (url, term) in cases {
            assert_eq!(parse(url).search_term.as_deref(), *term, "{url}");
        }
        let mut custom = site();
        custom.search_params = vec!["term".into()];
        let page = parse_page_url("https://enschede.nl/?q=a&term=b", &custom, false).unwrap();
        assert_eq!(page.search_term.as_deref(), Some("b"));
    }

    #[test]
    fn link_urls_lose_query_and_fragment() {
        assert_eq!(
            link_without_query("https://bank.example/pay?session=abc#top").as_deref(),
            Some("https://bank.example/pay")
        );
        assert_eq!(
            link_without_query("HTTP://x.nl/a#b").as_deref(),
            Some("HTTP://x.nl/a")
        );
        assert_eq!(link_without_query("https://x.nl/a"), None);
        assert_eq!(link_without_query("paspoort?x"), None);
        assert_eq!(link_without_query("ftp://x.nl/?a"), None);
    }

    #[test]
    fn long_paths_are_capped() {
        let url = format!("https://enschede.nl/{}", "ë".repeat(3000));
        let page = parse(&url);
        assert!(page.pathname.len() <= MAX_PATHNAME_BYTES);
        assert!(page.pathname.len() > MAX_PATHNAME_BYTES - 4);
    }

    #[test]
    fn unusable_urls_are_rejected() {
        let cases: &[(&str, PageUrlError)] = &[
            ("", PageUrlError::Empty),
            ("   ", PageUrlError::Empty),
            (
                "ftp://enschede.nl/x",
                PageUrlError::UnsupportedScheme("ftp".into()),
            ),
            (
                "javascript:alert(1)",
                PageUrlError::UnsupportedScheme("javascript".into()),
            ),
            (
                "file:///etc/passwd",
                PageUrlError::UnsupportedScheme("file".into()),
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(
                parse_page_url(url, &site(), false).unwrap_err(),
                *expected,
                "{url}"
            );
        }
        for url in [
            "/relative/path",
            "enschede.nl/afval",
            "http://",
            "https://exa mple.nl/",
        ] {
            assert!(
                matches!(
                    parse_page_url(url, &site(), false),
                    Err(PageUrlError::Invalid(_))
                ),
                "{url}"
            );
        }
    }
}
