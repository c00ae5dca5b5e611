//! Beheer (`/beheer`, admins only): sites with their embed snippet, users, API tokens and
//! share links. Every change is written to the audit log.

use super::{audit, render};
use crate::auth::SignedIn;
use crate::error::PageError;
use crate::format;
use crate::i18n::Lang;
use crate::layout::Layout;
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_model::Site;
use luister_store::{ShareLink, TokenInfo, TokenScope, User, UserRole};
use serde::Deserialize;

pub struct SiteRow {
    pub domain: String,
    pub timezone: String,
    pub snippet: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    layout: Layout,
    sites: Vec<SiteRow>,
    users: Vec<User>,
    tokens: Vec<TokenInfo>,
    links: Vec<(ShareLink, String)>,
    /// A secret just made (a share link URL or a token), shown once.
    created: Option<String>,
}

#[derive(Deserialize)]
pub struct SiteForm {
    csrf: String,
    domain: String,
    #[serde(default)]
    timezone: String,
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    email: String,
    role: String,
    #[serde(default)]
    sites: String,
    password: String,
}

#[derive(Deserialize)]
pub struct RemoveUserForm {
    csrf: String,
    email: String,
}

#[derive(Deserialize)]
pub struct ShareLinkForm {
    csrf: String,
    site: String,
    name: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
    name: String,
    scope: String,
    #[serde(default)]
    sites: String,
}

fn require_admin(who: &SignedIn, csrf: Option<&str>) -> Result<(), PageError> {
    if who.user.role != UserRole::Admin {
        return Err(PageError::NotFound);
    }
    match csrf {
        Some(token) => who.check_csrf(token),
        None => Ok(()),
    }
}

async fn admin_page(
    dash: &Dashboard,
    req: &HttpRequest,
    who: &SignedIn,
    created: Option<String>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(req);
    let base = dash.settings.public_base(req);
    let (sites, users, tokens, links) = tokio::try_join!(
        dash.store.list_sites(),
        dash.store.list_users(),
        dash.store.list_tokens(),
        dash.store.list_share_links(None),
    )?;
    let sites = sites
        .into_iter()
        .map(|s| SiteRow {
            snippet: format!(
                "<script defer data-domain=\"{}\" src=\"{base}/js/script.js\"></script>",
                s.domain
            ),
            domain: s.domain,
            timezone: s.timezone,
        })
        .collect();
    let links = links
        .into_iter()
        .map(|l| {
            let when = chrono::DateTime::from_timestamp(l.created_at.into(), 0)
                .map(|d| format::date(d.date_naive(), lang))
                .unwrap_or_default();
            (l, when)
        })
        .collect();
    let mut layout = Layout::new(dash, req, lang.text().admin);
    layout.user = Some(who.user.email.clone());
    layout.is_admin = true;
    layout.csrf = who.csrf.clone();
    render(&AdminPage {
        layout,
        sites,
        users,
        tokens,
        links,
        created,
    })
}

/// `GET /beheer`.
pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, None)?;
    admin_page(&dash, &req, &who, None).await
}

/// `POST /beheer/sites`.
pub async fn add_site(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    form: web::Form<SiteForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let mut site = Site::new(form.domain.trim().to_lowercase());
    if !form.timezone.trim().is_empty() {
        site.timezone = form.timezone.trim().to_string();
    }
    dash.store.add_site(&site).await?;
    audit(&dash, &who, "site.add", &site.domain, &site.domain).await?;
    admin_page(&dash, &req, &who, None).await
}

/// `POST /beheer/gebruikers`: adds a user or replaces one's role, sites and password.
pub async fn add_user(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let role = UserRole::parse(&form.role).ok_or_else(|| {
        PageError::BadRequest(format!("{:?} is not admin, analyst or viewer", form.role))
    })?;
    let sites: Vec<String> = form
        .sites
        .split([',', ' ', '\n'])
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    let user = dash
        .store
        .put_user(&form.email, role, sites, &form.password)
        .await?;
    audit(
        &dash,
        &who,
        "user.put",
        "",
        &format!("{} ({})", user.email, user.role.as_str()),
    )
    .await?;
    admin_page(&dash, &req, &who, None).await
}

/// `POST /beheer/gebruikers/verwijderen`.
pub async fn remove_user(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    form: web::Form<RemoveUserForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let user = dash.store.remove_user(&form.email).await?;
    dash.sessions
        .remove_principal(&crate::auth::session::Principal::User(user.email.clone()));
    audit(&dash, &who, "user.remove", "", &user.email).await?;
    admin_page(&dash, &req, &who, None).await
}

/// `POST /beheer/deellinks`: makes a link and shows its URL once.
pub async fn create_share_link(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    form: web::Form<ShareLinkForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let password = Some(form.password.as_str()).filter(|p| !p.is_empty());
    let (link, secret) = dash
        .store
        .create_share_link(form.site.trim(), &form.name, password)
        .await?;
    audit(
        &dash,
        &who,
        "share_link.create",
        &link.site_id,
        &format!("{} ({})", link.id, link.name),
    )
    .await?;
    let url = format!("{}/gedeeld/{secret}", dash.settings.public_base(&req));
    admin_page(&dash, &req, &who, Some(url)).await
}

/// `POST /beheer/tokens`: makes an API token and shows it once.
pub async fn create_token(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let scope = TokenScope::parse(&form.scope).ok_or_else(|| {
        PageError::BadRequest(format!("{:?} is not read, write or admin", form.scope))
    })?;
    let sites: Vec<String> = if scope == TokenScope::Admin {
        Vec::new()
    } else {
        form.sites
            .split([',', ' ', '\n'])
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let token = dash
        .store
        .create_token(form.name.trim(), scope, sites.clone())
        .await?;
    audit(
        &dash,
        &who,
        "token.create",
        &sites.join(","),
        &format!("{} ({})", form.name.trim(), scope.as_str()),
    )
    .await?;
    admin_page(&dash, &req, &who, Some(token)).await
}

/// `POST /beheer/tokens/{id}/intrekken`.
pub async fn revoke_token(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let token = dash.store.revoke_token(&id).await?;
    audit(
        &dash,
        &who,
        "token.revoke",
        &token.sites.join(","),
        &format!("{} ({})", token.name, token.id),
    )
    .await?;
    admin_page(&dash, &req, &who, None).await
}

/// `POST /beheer/deellinks/{id}/intrekken`.
pub async fn revoke_share_link(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&who, Some(&form.csrf))?;
    let link = dash.store.revoke_share_link(&id).await?;
    dash.sessions
        .remove_principal(&crate::auth::session::Principal::ShareLink(link.id.clone()));
    audit(&dash, &who, "share_link.revoke", &link.site_id, &link.id).await?;
    admin_page(&dash, &req, &who, None).await
}
