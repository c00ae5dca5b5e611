//! Sign-in (`/inloggen`) and sign-out (`/uitloggen`).
//!
//! The sign-in form carries a CSRF token that must match a cookie set with the form
//! (there is no session yet); failures are limited per account and per client address
//! with a growing wait. The session cookie is HttpOnly and `SameSite=Lax`.

use super::{query_params, see_other};
use crate::auth::session::{random_token, same_secret, Principal};
use crate::auth::{
    private_cookie, safe_return_path, SignedIn, SESSION_COOKIE, SIGN_IN_CSRF_COOKIE,
};
use crate::error::PageError;
use crate::i18n::Lang;
use crate::layout::{html, Layout};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use luister_store::UserRole;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    return_to: String,
    email: String,
    error: Option<String>,
    /// The single sign-on button's text, when configured.
    sso_label: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    csrf: String,
    #[serde(default)]
    terug: String,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

fn sign_in_page(
    dash: &Dashboard,
    req: &HttpRequest,
    return_to: &str,
    email: &str,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::of(req);
    let csrf = random_token();
    let page = SignInPage {
        layout: Layout::new(dash, req, lang.text().sign_in),
        csrf: csrf.clone(),
        return_to: safe_return_path(return_to),
        email: email.to_string(),
        error,
        sso_label: dash.oidc.as_ref().map(|o| o.label().to_string()),
    };
    let mut response = html(page.render()?, None);
    *response.status_mut() = status;
    let _ = response.add_cookie(&private_cookie(
        dash,
        SIGN_IN_CSRF_COOKIE,
        csrf,
        "/inloggen",
    ));
    Ok(response)
}

/// `GET /inloggen?terug=…`.
pub async fn form(dash: web::Data<Dashboard>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let back = query_params(&req)
        .get("terug")
        .cloned()
        .unwrap_or_else(|| "/sites".into());
    sign_in_page(
        &dash,
        &req,
        &back,
        "",
        None,
        actix_web::http::StatusCode::OK,
    )
}

/// `POST /inloggen`.
pub async fn submit(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let t = Lang::of(&req).text();
    let cookie_csrf = req
        .cookie(SIGN_IN_CSRF_COOKIE)
        .map(|c| c.value().to_string());
    if !cookie_csrf.is_some_and(|c| same_secret(&c, &form.csrf)) {
        return Err(PageError::BadRequest(
            "het formulier is verlopen; laad de pagina opnieuw / the form expired; reload the page"
                .into(),
        ));
    }
    let email = form.email.trim().to_lowercase();
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let account = [format!("email:{email}")];
    let client = [format!("ip:{address}")];
    let refuse = |message: &str, status| {
        sign_in_page(
            &dash,
            &req,
            &form.terug,
            &email,
            Some(message.into()),
            status,
        )
    };
    if dash.sign_in_limiter.check(&account).is_err() || dash.address_limiter.check(&client).is_err()
    {
        return refuse(
            t.too_many_attempts,
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Some(user) = dash
        .store
        .check_user_password(&email, &form.password)
        .await?
    else {
        dash.sign_in_limiter.failed(&account);
        dash.address_limiter.failed(&client);
        tracing::info!(target: "luister::audit", "dashboard sign-in failed");
        return refuse(
            t.wrong_credentials,
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    dash.sign_in_limiter.succeeded(&account[0]);
    let (principal, target) = if user.has_totp {
        (
            Principal::SecondFactor(user.email.clone()),
            "/inloggen/code".to_string(),
        )
    } else if user.role == UserRole::Admin && dash.settings.require_totp_for_admins {
        (
            Principal::Enrolling(user.email.clone()),
            "/account/tweestaps".to_string(),
        )
    } else {
        (
            Principal::User(user.email.clone()),
            safe_return_path(&form.terug),
        )
    };
    let session = dash.sessions.create(principal);
    let mut response = see_other(&target);
    let _ = response.add_cookie(&private_cookie(&dash, SESSION_COOKIE, session, "/"));
    let mut spent = private_cookie(&dash, SIGN_IN_CSRF_COOKIE, String::new(), "/inloggen");
    spent.make_removal();
    let _ = response.add_cookie(&spent);
    Ok(response)
}

/// `POST /uitloggen`.
pub async fn sign_out(
    dash: web::Data<Dashboard>,
    who: SignedIn,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    who.check_csrf(&form.csrf)?;
    dash.sessions.remove(&who.cookie);
    let mut response = see_other("/inloggen");
    let mut gone = private_cookie(&dash, SESSION_COOKIE, String::new(), "/");
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    Ok(response)
}
