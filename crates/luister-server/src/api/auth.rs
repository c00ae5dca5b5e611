//! Bearer-token authentication of the query API: who is calling and which sites they may read.
//!
//! `LUISTER_ADMIN_TOKEN` (compared in constant time) is an admin; any other token is
//! looked up by hash in the store. A site that a caller may not read is reported as
//! not found, exactly like an unknown site.

use super::error::ApiError;
use crate::rate_limit::{client_key, retry_after_secs};
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use luister_metrics as metrics;
use luister_model::Site;
use luister_query::QueryError;
use luister_store::{hash_token, TokenScope};
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub admin: bool,
    pub scope: TokenScope,
    /// Sites a non-admin token may read.
    pub sites: Vec<String>,
}

impl Caller {
    pub fn can_read(&self, domain: &str) -> bool {
        self.admin || self.sites.iter().any(|s| s == domain)
    }

    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        if self.name == "LUISTER_ADMIN_TOKEN" {
            self.name.clone()
        } else {
            format!("token {}", self.name)
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.admin {
            Ok(())
        } else {
            Err(ApiError::AdminOnly)
        }
    }

    /// [`Caller::site`] for a change: 403 unless the token's scope is `write` or `admin`.
    pub async fn site_to_change(
        &self,
        state: &AppState,
        domain: Option<&str>,
    ) -> Result<Site, ApiError> {
        let site = self.site(state, domain).await?;
        if self.scope < TokenScope::Write {
            return Err(ApiError::ReadOnly);
        }
        Ok(site)
    }

    /// The site `domain` if it exists and this caller may read it; otherwise 404.
    pub async fn site(&self, state: &AppState, domain: Option<&str>) -> Result<Site, ApiError> {
        let domain = domain
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| QueryError::param("site_id", "missing; give the site's domain"))?;
        if !self.can_read(domain) {
            return Err(QueryError::SiteNotFound(domain.into()).into());
        }
        state
            .store
            .get_site(domain)
            .await?
            .ok_or_else(|| QueryError::SiteNotFound(domain.into()).into())
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// Compares the SHA-256 digests of both, byte by byte without an early exit: the time
/// taken tells neither where they differ nor how long the secret is.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (hash_token(a), hash_token(b));
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn authenticate(
    state: web::Data<AppState>,
    token: Option<String>,
) -> Result<Caller, ApiError> {
    let token = token.ok_or(ApiError::Unauthorized)?;
    if let Some(admin) = state
        .settings
        .admin_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        if same_secret(admin, &token) {
            return Ok(Caller {
                name: "LUISTER_ADMIN_TOKEN".into(),
                admin: true,
                scope: TokenScope::Admin,
                sites: Vec::new(),
            });
        }
    }
    let info = state
        .store
        .find_token(&token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Caller {
        name: info.name,
        admin: info.admin,
        scope: info.scope,
        sites: info.sites,
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let client = state
            .as_ref()
            .map(|state| client_key(crate::collector::client_ip(req, state)));
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::BadRequest("server state missing".into()))?;
            authenticate_client(state, client.unwrap_or_else(|| client_key(None)), token).await
        })
    }
}

/// Who `token` belongs to, with failed attempts counted per client address: after too
/// many, every attempt from that address is refused for a while (429), so tokens cannot
/// be guessed. Shared by the API's bearer tokens and Matomo's `token_auth`.
pub(crate) async fn authenticate_client(
    state: web::Data<AppState>,
    client: std::net::IpAddr,
    token: Option<String>,
) -> Result<Caller, ApiError> {
    let failures = &state.limiters.auth_failures;
    let now = Instant::now();
    if let Err(wait) = failures.check(&client, now) {
        metrics::RATE_LIMITED.with_label_values(&["auth"]).inc();
        return Err(ApiError::TooManyFailures(retry_after_secs(wait)));
    }
    let caller = authenticate(state.clone(), token).await;
    if matches!(caller, Err(ApiError::Unauthorized)) {
        let _ = failures.take(&client, 1.0, now);
    }
    caller
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_header_and_secret_comparison() {
        let req = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Bearer  lst_abc "))
            .to_http_request();
        assert_eq!(bearer(&req).as_deref(), Some("lst_abc"));
        let basic = actix_web::test::TestRequest::default()
            .insert_header((header::AUTHORIZATION, "Basic xyz"))
            .to_http_request();
        assert_eq!(bearer(&basic), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd") && !same_secret("abc", "abcd"));
    }
}
