//! Two-factor sign-in: the code step after the password (`/inloggen/code`) and setting up
//! an authenticator app (`/account/tweestaps`), which admins must do before anything else.
//!
//! A session is upgraded to a full one only here, under a new id (the old one ends), so a
//! session id seen before the second factor is worth nothing after it.

use super::see_other;
use crate::auth::session::{Principal, SessionGrant};
use crate::auth::{private_cookie, session_of, totp, SESSION_COOKIE};
use crate::error::PageError;
use crate::i18n::Lang;
use crate::layout::{html, Layout};
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "two_factor_code.html")]
struct CodePage {
    layout: Layout,
    wrong: bool,
}

#[derive(Template)]
#[template(path = "two_factor_setup.html")]
struct SetupPage {
    layout: Layout,
    secret: String,
    qr_svg: String,
    required: bool,
    already: bool,
    wrong: bool,
}

#[derive(Template)]
#[template(path = "two_factor_done.html")]
struct DonePage {
    layout: Layout,
    codes: Vec<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

#[derive(Deserialize)]
pub struct SetupForm {
    csrf: String,
    secret: String,
    code: String,
}

fn csrf_ok(grant: &SessionGrant, token: &str) -> Result<(), PageError> {
    if crate::auth::session::same_secret(token, &grant.csrf) {
        Ok(())
    } else {
        Err(PageError::BadRequest(
            "het formulier is verlopen; laad de pagina opnieuw / the form expired; reload the page"
                .into(),
        ))
    }
}

fn sign_in_again() -> PageError {
    PageError::SignInRequired {
        return_to: "/sites".into(),
    }
}

/// Ends `old` and starts a full session for `email`; the answer goes to `target`.
fn upgrade(dash: &Dashboard, old: &str, email: &str, target: &str) -> HttpResponse {
    dash.sessions.remove(old);
    let session = dash.sessions.create(Principal::User(email.to_string()));
    let mut response = see_other(target);
    let _ = response.add_cookie(&private_cookie(dash, SESSION_COOKIE, session, "/"));
    response
}

fn layout(dash: &Dashboard, req: &HttpRequest, grant: &SessionGrant) -> Layout {
    let mut layout = Layout::new(dash, req, Lang::of(req).text().two_factor);
    layout.csrf = grant.csrf.clone();
    layout
}

/// The session of a user between password and code.
fn pending(
    dash: &Dashboard,
    req: &HttpRequest,
) -> Result<(String, SessionGrant, String), PageError> {
    match session_of(dash, req) {
        Some((cookie, grant)) => match &grant.principal {
            Principal::SecondFactor(email) => {
                let email = email.clone();
                Ok((cookie, grant, email))
            }
            _ => Err(sign_in_again()),
        },
        None => Err(sign_in_again()),
    }
}

/// `GET /inloggen/code`.
pub async fn code_form(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (_, grant, _) = pending(&dash, &req)?;
    let page = CodePage {
        layout: layout(&dash, &req, &grant),
        wrong: false,
    };
    Ok(html(page.render()?, None))
}

/// `POST /inloggen/code`: a code from the app, or a recovery code.
pub async fn code_submit(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let (cookie, grant, email) = pending(&dash, &req)?;
    csrf_ok(&grant, &form.csrf)?;
    let keys = [format!("totp:{email}")];
    let mut accepted = false;
    if dash.sign_in_limiter.check(&keys).is_ok() {
        let now = dash.clock.now().timestamp().max(0) as u64;
        let code = form.code.trim();
        accepted = match dash.store.user_totp_secret(&email).await? {
            Some(secret) if code.chars().filter(|c| c.is_ascii_digit()).count() == 6 => {
                dash.used_codes.check(&email, &secret, code, now)
            }
            Some(_) => dash.store.use_recovery_code(&email, code).await?,
            None => false,
        };
    }
    if !accepted {
        dash.sign_in_limiter.failed(&keys);
        let page = CodePage {
            layout: layout(&dash, &req, &grant),
            wrong: true,
        };
        let mut response = html(page.render()?, None);
        *response.status_mut() = actix_web::http::StatusCode::UNAUTHORIZED;
        return Ok(response);
    }
    dash.sign_in_limiter.succeeded(&keys[0]);
    Ok(upgrade(&dash, &cookie, &email, "/sites"))
}

/// The session of a user who may set up two-factor sign-in (any signed-in user, or an
/// admin who must), and whether it is required.
fn enrolling(
    dash: &Dashboard,
    req: &HttpRequest,
) -> Result<(String, SessionGrant, String, bool), PageError> {
    match session_of(dash, req) {
        Some((cookie, grant)) => match &grant.principal {
            Principal::Enrolling(email) => {
                let email = email.clone();
                Ok((cookie, grant, email, true))
            }
            Principal::User(email) => {
                let email = email.clone();
                Ok((cookie, grant, email, false))
            }
            _ => Err(sign_in_again()),
        },
        None => Err(sign_in_again()),
    }
}

fn setup_page(
    dash: &Dashboard,
    req: &HttpRequest,
    grant: &SessionGrant,
    email: &str,
    secret: String,
    flags: (bool, bool, bool),
) -> Result<HttpResponse, PageError> {
    let t = Lang::of(req).text();
    let url = totp::otpauth_url(&secret, email).ok_or_else(|| {
        PageError::BadRequest("this e-mail address cannot be put in an authenticator app".into())
    })?;
    let (required, already, wrong) = flags;
    let page = SetupPage {
        layout: layout(dash, req, grant),
        qr_svg: totp::qr_svg(&url, t.qr_label).unwrap_or_default(),
        secret,
        required,
        already,
        wrong,
    };
    let mut response = html(page.render()?, None);
    if wrong {
        *response.status_mut() = actix_web::http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// `GET /account/tweestaps`: a new secret as a QR code and as text.
pub async fn setup_form(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (_, grant, email, required) = enrolling(&dash, &req)?;
    let already = dash.store.user_totp_secret(&email).await?.is_some();
    setup_page(
        &dash,
        &req,
        &grant,
        &email,
        totp::new_secret(),
        (required, already, false),
    )
}

/// `POST /account/tweestaps`: the first code proves the app has the secret; then the
/// recovery codes are shown, once.
pub async fn setup_submit(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    form: web::Form<SetupForm>,
) -> Result<HttpResponse, PageError> {
    let (cookie, grant, email, required) = enrolling(&dash, &req)?;
    csrf_ok(&grant, &form.csrf)?;
    let secret = form.secret.trim().to_string();
    let now = dash.clock.now().timestamp().max(0) as u64;
    if totp::otpauth_url(&secret, &email).is_none()
        || !dash.used_codes.check(&email, &secret, &form.code, now)
    {
        return setup_page(&dash, &req, &grant, &email, secret, (required, false, true));
    }
    let codes = totp::recovery_codes();
    dash.store.set_user_totp(&email, &secret, &codes).await?;
    let entry = luister_store::AuditEntry::new(&format!("user {email}"), "user.2fa", "", &email);
    dash.store.audit(entry).await?;
    // A full session from here, under a new id; the codes are shown once, on this answer.
    dash.sessions.remove(&cookie);
    let session = dash.sessions.create(Principal::User(email.clone()));
    let mut layout = Layout::new(&dash, &req, Lang::of(&req).text().two_factor);
    layout.user = Some(email.clone());
    layout.csrf = dash
        .sessions
        .get(&session)
        .map(|g| g.csrf)
        .unwrap_or_default();
    let mut response = html(DonePage { layout, codes }.render()?, None);
    let _ = response.add_cookie(&private_cookie(&dash, SESSION_COOKIE, session, "/"));
    Ok(response)
}
