//! The frame every page shares (header, navigation, language switch, footer) and the
//! answer that carries a rendered page: HTML with a strict Content-Security-Policy.

use crate::chart::escape;
use crate::i18n::{Lang, Text};
use crate::Dashboard;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

/// No inline script or style, nothing from elsewhere, no framing.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// One entry of the main navigation.
pub struct NavLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// What the base template needs on every page.
pub struct Layout {
    pub t: &'static Text,
    pub lang: &'static str,
    pub title: String,
    pub css_href: String,
    pub js_href: String,
    /// E-mail of the signed-in user; `None` when signed out or on a share link.
    pub user: Option<String>,
    pub is_admin: bool,
    /// The session's CSRF token, for the forms on the page (sign-out included).
    pub csrf: String,
    pub nav: Vec<NavLink>,
    /// Link that switches the language and comes back here.
    pub switch_lang_href: String,
    /// Seconds between refreshes of the `data-live` part (0: none).
    pub refresh: u32,
    pub version: &'static str,
}

impl Layout {
    pub fn new(dash: &Dashboard, req: &HttpRequest, title: impl Into<String>) -> Self {
        let here = match req.query_string() {
            "" => req.path().to_string(),
            q => format!("{}?{q}", req.path()),
        };
        Self::for_path(dash, Lang::of(req), &here, title)
    }

    /// The layout of the page at `here` (path and query) in `lang`.
    pub fn for_path(dash: &Dashboard, lang: Lang, here: &str, title: impl Into<String>) -> Self {
        Self {
            t: lang.text(),
            lang: lang.code(),
            title: title.into(),
            css_href: dash.assets.css_href(),
            js_href: dash.assets.js_href(),
            user: None,
            is_admin: false,
            csrf: String::new(),
            nav: Vec::new(),
            switch_lang_href: format!(
                "/taal/{}?terug={}",
                lang.other().code(),
                percent_encoding::utf8_percent_encode(here, percent_encoding::NON_ALPHANUMERIC)
            ),
            refresh: 0,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// The site sections, with `current` marked.
    pub fn site_nav(mut self, domain: &str, current: &str) -> Self {
        let t = self.t;
        let base = format!("/sites/{domain}");
        self.nav = [
            (t.overview, String::new()),
            (t.funnels, "/trechters".into()),
            (t.search_terms, "/zoektermen".into()),
            (t.goals, "/doelen".into()),
            (t.actions, "/acties".into()),
            (t.cycle, "/cyclus".into()),
            (t.realtime, "/live".into()),
        ]
        .into_iter()
        .map(|(label, tail)| NavLink {
            label,
            current: tail == current,
            href: format!("{base}{tail}"),
        })
        .collect();
        self
    }
}

/// A rendered page as an answer, with the CSP; `frame_ancestors` only for the monitor.
pub fn html(body: String, frame_ancestors: Option<&[String]>) -> HttpResponse {
    let mut response = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body);
    let csp = match frame_ancestors.filter(|a| !a.is_empty()) {
        Some(origins) => CSP.replace(
            "frame-ancestors 'none'",
            &format!("frame-ancestors {}", origins.join(" ")),
        ),
        None => CSP.to_string(),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // Pages show numbers about citizens and are per user: never cached.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if frame_ancestors.is_none_or(|a| a.is_empty()) {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// A bare error page (no navigation: it must render whatever failed).
pub fn error_page(title: &str, detail: &str) -> String {
    format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} – Luister</title></head><body><main><h1>{title}</h1><p>{detail}</p><p><a href=\"/\">Luister</a></p></main></body></html>",
        title = escape(title),
        detail = escape(detail)
    )
}
