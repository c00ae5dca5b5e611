//! Share links (`/gedeeld/{link}`): one site's overview, read-only, for people without an
//! account; optionally behind a password. A link never reveals another site: every query
//! is made for the link's own site, whatever the URL says.

use super::overview::{breakdown_csv, build, OverviewView};
use super::{query_params, see_other};
use crate::auth::private_cookie;
use crate::auth::session::Principal;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::layout::{html, Layout};
use crate::report::ReportState;
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_model::Site;
use luister_store::ShareLink;
use serde::Deserialize;

/// Cookie of an unlocked password-protected link (path-scoped to that link).
const SHARE_COOKIE: &str = "luister_share";

#[derive(Template)]
#[template(path = "share.html")]
struct SharePage {
    layout: Layout,
    view: OverviewView,
}

#[derive(Template)]
#[template(path = "share_password.html")]
struct SharePasswordPage {
    layout: Layout,
    action: String,
    wrong: bool,
}

#[derive(Deserialize)]
pub struct UnlockForm {
    password: String,
}

/// The link and its site, when the link is live and (if it has a password) unlocked.
pub(super) enum ShareAccess {
    Open(Box<(ShareLink, Site)>),
    NeedsPassword,
}

pub(super) async fn open_link(
    dash: &Dashboard,
    req: &HttpRequest,
    secret: &str,
) -> Result<ShareAccess, PageError> {
    let link = dash
        .store
        .find_share_link(secret)
        .await?
        .ok_or(PageError::NotFound)?;
    let site = dash
        .store
        .get_site(&link.site_id)
        .await?
        .ok_or(PageError::NotFound)?;
    if link.has_password {
        let unlocked = req
            .cookie(SHARE_COOKIE)
            .and_then(|c| dash.sessions.get(c.value()))
            .is_some_and(|g| g.principal == Principal::ShareLink(link.id.clone()));
        if !unlocked {
            return Ok(ShareAccess::NeedsPassword);
        }
    }
    Ok(ShareAccess::Open(Box::new((link, site))))
}

fn password_page(
    dash: &Dashboard,
    req: &HttpRequest,
    secret: &str,
    wrong: bool,
) -> Result<HttpResponse, PageError> {
    let t = Lang::of(req).text();
    let page = SharePasswordPage {
        layout: Layout::new(dash, req, t.share_links),
        action: format!("/gedeeld/{secret}"),
        wrong,
    };
    let mut response = html(page.render()?, None);
    if wrong {
        *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
    }
    Ok(response)
}

/// `GET /gedeeld/{link}`: the overview of the link's site.
pub async fn overview(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    secret: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (_, site) = match open_link(&dash, &req, &secret).await? {
        ShareAccess::Open(open) => *open,
        ShareAccess::NeedsPassword => return password_page(&dash, &req, &secret, false),
    };
    let query = query_params(&req);
    if query.contains_key("property") {
        return breakdown_csv(&dash, &site, &query, Lang::of(&req)).await;
    }
    let state = ReportState::new(req.path(), &query);
    if let Some(target) = state.custom_range_redirect(&query) {
        return Ok(see_other(&target));
    }
    let lang = Lang::of(&req);
    // The CSV links of a share page come back here with `property=`.
    let view = build(&dash, &site, &state, req.path(), lang).await?;
    let layout = Layout::new(
        &dash,
        &req,
        format!("{} – {}", lang.text().overview, site.domain),
    );
    Ok(html(SharePage { layout, view }.render()?, None))
}

/// `POST /gedeeld/{link}`: the password of a protected link.
pub async fn unlock(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    secret: web::Path<String>,
    form: web::Form<UnlockForm>,
) -> Result<HttpResponse, PageError> {
    let link = dash
        .store
        .find_share_link(&secret)
        .await?
        .ok_or(PageError::NotFound)?;
    let keys = [format!("share:{}", link.id)];
    if dash.sign_in_limiter.check(&keys).is_err()
        || !dash
            .store
            .check_share_link_password(&secret, &form.password)
            .await?
    {
        dash.sign_in_limiter.failed(&keys);
        return password_page(&dash, &req, &secret, true);
    }
    let session = dash.sessions.create(Principal::ShareLink(link.id.clone()));
    let path = format!("/gedeeld/{secret}");
    let mut response = see_other(&path);
    let _ = response.add_cookie(&private_cookie(&dash, SHARE_COOKIE, session, &path));
    Ok(response)
}
