//! `/` (to the site list or the sign-in page), `/sites` (the sites a user may open) and
//! the language switch `/taal/{nl|en}`.

use super::{query_params, render, see_other};
use crate::auth::{safe_return_path, SignedIn};
use crate::error::PageError;
use crate::i18n::{Lang, LANG_COOKIE};
use crate::layout::Layout;
use crate::Dashboard;
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

/// `GET /`.
pub async fn root(who: Option<SignedIn>) -> HttpResponse {
    see_other(if who.is_some() { "/sites" } else { "/inloggen" })
}

pub struct SiteEntry {
    pub domain: String,
    pub timezone: String,
}

#[derive(Template)]
#[template(path = "sites.html")]
struct SitesPage {
    layout: Layout,
    sites: Vec<SiteEntry>,
}

/// `GET /sites`.
pub async fn sites(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    let sites = dash
        .store
        .list_sites()
        .await?
        .into_iter()
        .filter(|s| who.user.can_read(&s.domain))
        .map(|s| SiteEntry {
            domain: s.domain,
            timezone: s.timezone,
        })
        .collect();
    let lang = Lang::of(&req);
    let mut layout = Layout::new(&dash, &req, lang.text().sites);
    layout.user = Some(who.user.email.clone());
    layout.is_admin = who.user.role == luister_store::UserRole::Admin;
    layout.csrf = who.csrf.clone();
    render(&SitesPage { layout, sites })
}

/// `GET /taal/{lang}?terug=…`: remembers the language for a year and goes back.
pub async fn switch_language(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    lang: web::Path<String>,
) -> HttpResponse {
    let lang = Lang::parse(&lang).unwrap_or_default();
    let back = query_params(&req)
        .get("terug")
        .map(|p| safe_return_path(p))
        .unwrap_or_else(|| "/".into());
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .same_site(SameSite::Lax)
        .secure(dash.settings.secure_cookies)
        .max_age(CookieDuration::days(365))
        .finish();
    let mut response = see_other(&back);
    let _ = response.add_cookie(&cookie);
    response
}
