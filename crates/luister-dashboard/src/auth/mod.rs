//! Who is asking: the signed-in user (a session cookie) and the checks every form needs.
//!
//! A page handler that takes a [`SignedIn`] can only run for a live session of an existing
//! user; the user is read again on each request, so a removed user or a changed role
//! takes effect at once.

pub mod limiter;
pub mod oidc;
pub mod session;
pub mod totp;

use crate::error::PageError;
use crate::Dashboard;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use luister_store::User;
use session::{same_secret, Principal};

/// Cookie holding the session id.
pub const SESSION_COOKIE: &str = "luister_session";
/// Cookie of the sign-in form's CSRF token (there is no session yet).
pub const SIGN_IN_CSRF_COOKIE: &str = "luister_signin";

/// A request from a signed-in dashboard user.
pub struct SignedIn {
    pub user: User,
    /// The token every form of this session carries.
    pub csrf: String,
    /// The session cookie's value (to end it on sign-out).
    pub cookie: String,
}

impl SignedIn {
    /// How the audit log names this user.
    pub fn actor(&self) -> String {
        format!("user {}", self.user.email)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), PageError> {
        if same_secret(token, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::BadRequest(
                "het formulier is verlopen; laad de pagina opnieuw / the form expired; reload the page".into(),
            ))
        }
    }
}

/// Where a request came from, for returning after sign-in.
fn here(req: &HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    }
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let sign_in = || PageError::SignInRequired {
                return_to: here(&req),
            };
            let dash = req
                .app_data::<web::Data<Dashboard>>()
                .expect("the dashboard is registered with its data")
                .clone();
            let cookie = req
                .cookie(SESSION_COOKIE)
                .map(|c| c.value().to_string())
                .ok_or_else(sign_in)?;
            let grant = dash.sessions.get(&cookie).ok_or_else(sign_in)?;
            let Principal::User(email) = &grant.principal else {
                return Err(sign_in());
            };
            let Some(user) = dash.store.get_user(email).await? else {
                dash.sessions.remove(&cookie);
                return Err(sign_in());
            };
            Ok(SignedIn {
                user,
                csrf: grant.csrf,
                cookie,
            })
        })
    }
}

/// The session cookie and grant of a request, whatever its principal.
pub fn session_of(dash: &Dashboard, req: &HttpRequest) -> Option<(String, session::SessionGrant)> {
    let cookie = req.cookie(SESSION_COOKIE)?.value().to_string();
    let grant = dash.sessions.get(&cookie)?;
    Some((cookie, grant))
}

/// A cookie only this server reads: HttpOnly, `SameSite=Lax`, `Secure` behind TLS.
pub fn private_cookie(
    dash: &Dashboard,
    name: &'static str,
    value: String,
    path: &str,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path(path.to_string())
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(dash.settings.secure_cookies)
        .finish()
}

/// A local path to return to after sign-in; anything else (other hosts, `//x`) becomes `/`.
pub fn safe_return_path(path: &str) -> String {
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(|c| c.is_control());
    if local {
        path.to_string()
    } else {
        "/".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_server() {
        assert_eq!(
            safe_return_path("/sites/a.nl?period=7d"),
            "/sites/a.nl?period=7d"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_return_path(bad), "/", "{bad:?}");
        }
    }
}
