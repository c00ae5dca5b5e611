//! One module per page; [`configure`] lists every route, so a URL leads to its file.
//!
//! Dutch paths (the dashboard's first language): `/inloggen`, `/sites/{domain}` (overzicht),
//! `…/trechters`, `…/zoektermen`, `…/doelen`, `…/live`, `/beheer`, `/gedeeld/{link}`,
//! `/toegankelijkheid`.

mod accessibility;
pub(crate) mod actions;
mod admin;
mod cycle;
mod funnels;
mod goals;
mod home;
mod monitor;
pub(crate) mod overview;
mod realtime;
mod search;
mod share;
mod signin;
mod sso;
mod two_factor;

use crate::auth::SignedIn;
use crate::error::PageError;
use crate::layout::{self, Layout};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_model::Site;
use luister_query::Params;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::root))
        .route("/inloggen", web::get().to(signin::form))
        .route("/inloggen", web::post().to(signin::submit))
        .route("/uitloggen", web::post().to(signin::sign_out))
        .route("/inloggen/sso", web::get().to(sso::start))
        .route("/inloggen/sso/terug", web::get().to(sso::finish))
        .route("/inloggen/code", web::get().to(two_factor::code_form))
        .route("/inloggen/code", web::post().to(two_factor::code_submit))
        .route("/account/tweestaps", web::get().to(two_factor::setup_form))
        .route(
            "/account/tweestaps",
            web::post().to(two_factor::setup_submit),
        )
        .route("/taal/{lang}", web::get().to(home::switch_language))
        .route("/toegankelijkheid", web::get().to(accessibility::page))
        .route("/sites", web::get().to(home::sites))
        .route("/sites/{domain}", web::get().to(overview::page))
        .route("/sites/{domain}/export.csv", web::get().to(overview::csv))
        .route("/sites/{domain}/trechters", web::get().to(funnels::page))
        .route("/sites/{domain}/trechters", web::post().to(funnels::save))
        .route(
            "/sites/{domain}/trechters/{id}/verwijderen",
            web::post().to(funnels::delete),
        )
        .route("/sites/{domain}/zoektermen", web::get().to(search::page))
        .route(
            "/sites/{domain}/zoektermen/export.csv",
            web::get().to(search::csv),
        )
        .route("/sites/{domain}/doelen", web::get().to(goals::page))
        .route(
            "/sites/{domain}/doelen/export.csv",
            web::get().to(goals::csv),
        )
        .route(
            "/sites/{domain}/trechters/export.csv",
            web::get().to(funnels::csv),
        )
        .route("/sites/{domain}/doelen", web::post().to(goals::add))
        .route("/sites/{domain}/doelen/{id}", web::post().to(goals::update))
        .route(
            "/sites/{domain}/doelen/{id}/verwijderen",
            web::post().to(goals::delete),
        )
        .route("/sites/{domain}/live", web::get().to(realtime::page))
        .route("/sites/{domain}/cyclus", web::get().to(cycle::page))
        .route(
            "/sites/{domain}/cyclus/rapport.html",
            web::get().to(cycle::download),
        )
        .route("/sites/{domain}/acties", web::get().to(actions::page))
        .route("/sites/{domain}/acties", web::post().to(actions::add))
        .route(
            "/sites/{domain}/acties/{id}",
            web::get().to(actions::detail),
        )
        .route(
            "/sites/{domain}/acties/{id}/status",
            web::post().to(actions::set_status),
        )
        .route(
            "/sites/{domain}/acties/{id}/verwijderen",
            web::post().to(actions::delete),
        )
        .route("/beheer", web::get().to(admin::page))
        .route("/beheer/sites", web::post().to(admin::add_site))
        .route("/beheer/gebruikers", web::post().to(admin::add_user))
        .route(
            "/beheer/gebruikers/verwijderen",
            web::post().to(admin::remove_user),
        )
        .route(
            "/beheer/deellinks",
            web::post().to(admin::create_share_link),
        )
        .route(
            "/beheer/deellinks/{id}/intrekken",
            web::post().to(admin::revoke_share_link),
        )
        .route("/beheer/tokens", web::post().to(admin::create_token))
        .route(
            "/beheer/tokens/{id}/intrekken",
            web::post().to(admin::revoke_token),
        )
        .route("/gedeeld/{secret}", web::get().to(share::overview))
        .route("/gedeeld/{secret}", web::post().to(share::unlock))
        .route("/gedeeld/{secret}/monitor", web::get().to(monitor::page));
}

/// The query string as the engine's parameters (unknown keys are ignored downstream).
pub(crate) fn query_params(req: &HttpRequest) -> Params {
    web::Query::<Params>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

/// A site the signed-in user may open; anything else is "not found", never "forbidden",
/// so a URL does not tell which other sites exist.
pub(crate) async fn readable_site(
    dash: &Dashboard,
    who: &SignedIn,
    domain: &str,
) -> Result<Site, PageError> {
    if !who.user.can_read(domain) {
        return Err(PageError::NotFound);
    }
    dash.store
        .get_site(domain)
        .await?
        .ok_or(PageError::NotFound)
}

/// A site the signed-in user may change (analysts and admins), after the form's CSRF check.
pub(crate) async fn changeable_site(
    dash: &Dashboard,
    who: &SignedIn,
    domain: &str,
    csrf: &str,
) -> Result<Site, PageError> {
    who.check_csrf(csrf)?;
    let site = readable_site(dash, who, domain).await?;
    if !who.user.can_change(domain) {
        return Err(PageError::Forbidden);
    }
    Ok(site)
}

/// Records a change made in the dashboard in the audit log.
pub(crate) async fn audit(
    dash: &Dashboard,
    who: &SignedIn,
    action: &str,
    site_id: &str,
    subject: &str,
) -> Result<(), PageError> {
    let entry = luister_store::AuditEntry::new(&who.actor(), action, site_id, subject);
    Ok(dash.store.audit(entry).await?)
}

/// The layout of a page of a site, for a signed-in user.
pub(crate) fn site_layout(
    dash: &Dashboard,
    req: &HttpRequest,
    who: &SignedIn,
    title: String,
    domain: &str,
    section: &str,
) -> Layout {
    let mut layout = Layout::new(dash, req, title).site_nav(domain, section);
    layout.user = Some(who.user.email.clone());
    layout.is_admin = who.user.role == luister_store::UserRole::Admin;
    layout.csrf = who.csrf.clone();
    layout
}

/// Renders a template into an HTML answer.
pub(crate) fn render(page: &impl Template) -> Result<HttpResponse, PageError> {
    Ok(layout::html(page.render()?, None))
}

/// 303 to `location` (after a form, or to a canonical URL).
pub(crate) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, location.to_string()))
        .finish()
}
