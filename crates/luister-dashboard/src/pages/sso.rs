//! Single sign-on (`/inloggen/sso` → the provider → `/inloggen/sso/terug`), when
//! `[dashboard.oidc]` is configured. The provider is trusted for who the user is and for
//! their role and sites; its own multi-factor rules apply, so no TOTP step follows.

use super::{query_params, see_other};
use crate::auth::oidc::OidcError;
use crate::auth::session::Principal;
use crate::auth::{private_cookie, safe_return_path, SESSION_COOKIE};
use crate::error::PageError;
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};

/// Where the provider sends the browser back to.
fn redirect_url(dash: &Dashboard, req: &HttpRequest) -> String {
    let base = if dash.settings.public_url.is_empty() {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    } else {
        dash.settings.public_url.clone()
    };
    format!("{base}/inloggen/sso/terug")
}

fn refused(e: OidcError) -> PageError {
    tracing::info!(target: "luister::audit", error = %e, "single sign-on refused");
    match e {
        OidcError::NoRole => PageError::Forbidden,
        other => PageError::BadRequest(other.to_string()),
    }
}

/// `GET /inloggen/sso?terug=…`.
pub async fn start(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let oidc = dash.oidc.as_ref().ok_or(PageError::NotFound)?;
    let back = query_params(&req)
        .get("terug")
        .map(|p| safe_return_path(p))
        .unwrap_or_else(|| "/sites".into());
    let url = oidc
        .start(&redirect_url(&dash, &req), &back)
        .await
        .map_err(refused)?;
    Ok(see_other(&url))
}

/// `GET /inloggen/sso/terug?code=…&state=…`.
pub async fn finish(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let oidc = dash.oidc.as_ref().ok_or(PageError::NotFound)?;
    let query = query_params(&req);
    if let Some(error) = query.get("error") {
        return Err(PageError::BadRequest(format!(
            "the sign-in provider said: {error}"
        )));
    }
    let (Some(state), Some(code)) = (query.get("state"), query.get("code")) else {
        return Err(PageError::BadRequest("state and code are missing".into()));
    };
    let identity = oidc.finish(state, code).await.map_err(refused)?;
    let user = dash
        .store
        .put_sso_user(&identity.email, identity.role, identity.sites)
        .await?;
    let entry = luister_store::AuditEntry::new(
        &format!("user {}", user.email),
        "user.sso",
        "",
        user.role.as_str(),
    );
    dash.store.audit(entry).await?;
    let session = dash.sessions.create(Principal::User(user.email));
    let mut response = see_other(&safe_return_path(&identity.return_to));
    let _ = response.add_cookie(&private_cookie(&dash, SESSION_COOKIE, session, "/"));
    Ok(response)
}
