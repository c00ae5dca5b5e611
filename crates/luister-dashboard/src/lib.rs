//! Luister's dashboard: server-rendered pages for a gemeente's web team, served by
//! `luister serve` at `/`.
//!
//! Pages call the same [`QueryEngine`] as the API, in-process, so a page and the API can
//! never disagree. Each page is one module under [`pages`] (handler, view model) with one
//! template under `templates/`; a URL leads to a file (`/sites/{domain}/zoektermen` →
//! `pages/search.rs` + `templates/search.html`). Charts are inline SVG from [`chart`];
//! styles are the NL Design System components plus a neutral theme; JavaScript only
//! enhances (refresh, shortcuts). This crate knows nothing of the collector.

mod assets;
mod auth;
pub mod chart;
mod csv;
mod error;
pub mod format;
mod i18n;
mod impact_view;
mod layout;
pub(crate) mod pages;
mod report;
pub mod report_view;

pub use assets::Assets;
pub use auth::oidc::OidcSettings;
pub use i18n::Lang;

use actix_web::web;
use luister_model::Clock;
use luister_query::QueryEngine;
use luister_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Dashboard settings from the configuration.
#[derive(Debug, Clone)]
pub struct DashboardSettings {
    /// An installation's own NL Design System tokens (CSS text), e.g. its gemeente's theme.
    pub theme_css: Option<String>,
    /// Mark cookies `Secure` (set when Luister is reached over HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// And after this long in any case.
    pub session_max_age: Duration,
    /// Origins that may show the monitor in a frame (CSP `frame-ancestors`); empty: none.
    pub monitor_frame_ancestors: Vec<String>,
    /// Public URL of this server, for the embed snippet; empty: the request's own host.
    pub public_url: String,
    /// Admins must sign in with a second factor (TOTP); the BIO asks for it.
    pub require_totp_for_admins: bool,
    /// Single sign-on with OpenID Connect, when configured.
    pub oidc: Option<OidcSettings>,
}

impl DashboardSettings {
    /// This server's address as links to it are written (embed snippet, share links):
    /// `public_url`, or else the scheme and host the request came in on.
    pub fn public_base(&self, req: &actix_web::HttpRequest) -> String {
        match self.public_url.trim_end_matches('/') {
            "" => {
                let info = req.connection_info();
                format!("{}://{}", info.scheme(), info.host())
            }
            url => url.to_string(),
        }
    }
}

impl Default for DashboardSettings {
    fn default() -> Self {
        Self {
            theme_css: None,
            secure_cookies: false,
            session_idle: Duration::from_secs(2 * 3600),
            session_max_age: Duration::from_secs(12 * 3600),
            monitor_frame_ancestors: Vec::new(),
            public_url: String::new(),
            require_totp_for_admins: true,
            oidc: None,
        }
    }
}

/// What every page handler can reach.
pub struct Dashboard {
    pub(crate) store: Store,
    pub(crate) engine: QueryEngine,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DashboardSettings,
    pub(crate) assets: Assets,
    pub(crate) sessions: auth::session::SessionStore,
    pub(crate) sign_in_limiter: auth::limiter::SignInLimiter,
    /// Failed sign-ins per client address (a larger allowance: many people share a proxy).
    pub(crate) address_limiter: auth::limiter::SignInLimiter,
    /// TOTP codes already used (a code works once).
    pub(crate) used_codes: auth::totp::UsedCodes,
    pub(crate) oidc: Option<auth::oidc::Oidc>,
}

impl Dashboard {
    pub fn new(
        store: Store,
        engine: QueryEngine,
        clock: Arc<dyn Clock>,
        settings: DashboardSettings,
    ) -> Self {
        Self {
            assets: Assets::new(settings.theme_css.as_deref()),
            sessions: auth::session::SessionStore::new(
                settings.session_idle,
                settings.session_max_age,
            ),
            sign_in_limiter: Default::default(),
            address_limiter: auth::limiter::SignInLimiter::with_free_failures(50),
            used_codes: Default::default(),
            oidc: settings.oidc.clone().map(auth::oidc::Oidc::new),
            store,
            engine,
            clock,
            settings,
        }
    }

    /// The overview page of `site` for the URL parameters `query`, rendered without HTTP:
    /// all of the page's server-side work (its queries, charts and template).
    pub async fn render_overview(
        &self,
        site: &luister_model::Site,
        query: &luister_query::Params,
    ) -> Result<String, String> {
        pages::overview::render_html(self, site, query)
            .await
            .map_err(|e| e.to_string())
    }

    /// Whether the NL Design System styles were embedded at build time.
    pub fn has_design_system_styles(&self) -> bool {
        self.assets.has_components()
    }
}

/// Registers every dashboard route; the app must hold a `web::Data<Dashboard>`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/{name}", web::get().to(assets::serve))
        .route("/favicon.ico", web::get().to(assets::no_icon));
    pages::configure(cfg);
}
