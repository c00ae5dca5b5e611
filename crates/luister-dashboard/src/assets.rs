//! The dashboard's static files, embedded in the binary and served under content-hashed
//! names, so browsers may cache them for a year and never see a stale one.
//!
//! One stylesheet: the NL Design System components, our neutral theme tokens, the
//! installation's own tokens (a gemeente's theme, from the configuration) and our layout,
//! in that order, so later tokens win.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use sha2::{Digest, Sha256};

const COMPONENTS_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/utrecht-components.css"));
const THEME_CSS: &str = include_str!("../assets/theme.css");
const LAYOUT_CSS: &str = include_str!("../assets/luister.css");
const SCRIPT_JS: &str = include_str!("../assets/dashboard.js");

/// The styles a standalone report file carries inline: the theme and our layout (the
/// component library stays out; the report uses none of its interactive parts).
pub fn report_css() -> String {
    const REPORT_BASE: &str = "body { margin: 0; font-family: var(--luister-font); color: var(--luister-color-ink); background: var(--luister-color-canvas); line-height: 1.5; } h1, h2, h3 { line-height: 1.25; } a { color: var(--luister-color-accent); }";
    [THEME_CSS, LAYOUT_CSS, REPORT_BASE].join("\n")
}

/// One served file.
struct Asset {
    name: String,
    content_type: &'static str,
    body: web::Bytes,
}

/// The files, built once at start-up.
pub struct Assets {
    css: Asset,
    js: Asset,
}

impl Assets {
    /// Builds the stylesheet with an installation's own design tokens (CSS) when given.
    pub fn new(installation_tokens: Option<&str>) -> Self {
        let css = [
            COMPONENTS_CSS,
            THEME_CSS,
            installation_tokens.unwrap_or(""),
            LAYOUT_CSS,
        ]
        .join("\n");
        Self {
            css: Asset::new("luister", "css", "text/css; charset=utf-8", css),
            js: Asset::new(
                "luister",
                "js",
                "text/javascript; charset=utf-8",
                SCRIPT_JS.into(),
            ),
        }
    }

    /// Path of the stylesheet, e.g. `/assets/luister-3fa9c1d2e4b5.css`.
    pub fn css_href(&self) -> String {
        format!("/assets/{}", self.css.name)
    }

    pub fn js_href(&self) -> String {
        format!("/assets/{}", self.js.name)
    }

    /// Whether the NL Design System component styles were embedded at build time.
    pub fn has_components(&self) -> bool {
        !COMPONENTS_CSS.is_empty()
    }

    fn find(&self, name: &str) -> Option<&Asset> {
        [&self.css, &self.js].into_iter().find(|a| a.name == name)
    }
}

impl Asset {
    fn new(stem: &str, ext: &str, content_type: &'static str, text: String) -> Self {
        let digest = Sha256::digest(text.as_bytes());
        let hash: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Self {
            name: format!("{stem}-{hash}.{ext}"),
            content_type,
            body: web::Bytes::from(text),
        }
    }
}

/// `GET /assets/{name}`: a year in every cache; the name changes when the content does.
pub(crate) async fn serve(
    dashboard: web::Data<crate::Dashboard>,
    name: web::Path<String>,
) -> HttpResponse {
    match dashboard.assets.find(&name) {
        Some(asset) => {
            let mut response = HttpResponse::Ok()
                .content_type(asset.content_type)
                .body(asset.body.clone());
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            response
        }
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

/// `GET /favicon.ico`: none (browsers ask anyway; an empty answer keeps the log quiet).
pub(crate) async fn no_icon() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_content() {
        let plain = Assets::new(None);
        let themed = Assets::new(Some(":root { --luister-color-accent: #8b0000; }"));
        assert_ne!(plain.css_href(), themed.css_href());
        assert_eq!(plain.js_href(), themed.js_href());
        assert!(
            plain.css_href().starts_with("/assets/luister-") && plain.css_href().ends_with(".css")
        );
        assert!(themed
            .find(themed.css_href().trim_start_matches("/assets/"))
            .is_some());
    }
}
