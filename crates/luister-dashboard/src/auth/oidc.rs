//! Single sign-on with OpenID Connect (Entra ID, Keycloak, ADFS): the authorization code
//! flow with PKCE, a nonce and a state, the ID token verified by `openidconnect` (signature
//! against the provider's published keys, issuer, audience, expiry, nonce). The provider's
//! claims decide the role and sites: `roles_claim` values map to admin, analyst or viewer;
//! `sites_claim` lists the domains (else `default_sites`).

use luister_store::UserRole;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// `[dashboard.oidc]` of the configuration.
#[derive(Debug, Clone, Default)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// Text of the sign-in button ("Inloggen met Entra ID").
    pub label: String,
    /// Claim with the user's roles or groups (a string or a list).
    pub roles_claim: String,
    pub admin_values: Vec<String>,
    pub analyst_values: Vec<String>,
    pub viewer_values: Vec<String>,
    /// Claim with the domains a viewer or analyst may open; empty: `default_sites`.
    pub sites_claim: String,
    pub default_sites: Vec<String>,
}

/// Why a single sign-on failed, said to the person at the browser.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the sign-in provider cannot be reached or answered wrongly: {0}")]
    Provider(String),
    #[error("this sign-in link has expired; start again")]
    UnknownState,
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
    #[error("your account has no role in Luister; ask your administrator")]
    NoRole,
}

/// A sign-in on its way to the provider and back.
struct Pending {
    nonce: Nonce,
    verifier: PkceCodeVerifier,
    redirect: String,
    return_to: String,
    started: Instant,
}

/// What a finished sign-in tells about the user.
#[derive(Debug, Clone, PartialEq)]
pub struct SsoIdentity {
    pub email: String,
    pub role: UserRole,
    pub sites: Vec<String>,
    pub return_to: String,
}

const PENDING_TTL: Duration = Duration::from_secs(600);
const MAX_PENDING: usize = 10_000;

/// The OpenID Connect client of a dashboard, with the sign-ins in progress.
pub struct Oidc {
    settings: OidcSettings,
    http: openidconnect::reqwest::Client,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> Self {
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects here would open the door to SSRF (the spec says so too).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            settings,
            http,
            pending: Mutex::new(HashMap::new()),
        }
    }

    pub fn label(&self) -> &str {
        &self.settings.label
    }

    async fn client(
        &self,
        redirect: &str,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        OidcError,
    > {
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let redirect = RedirectUrl::new(redirect.to_string())
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// The provider's sign-in URL for a new attempt that comes back to `redirect`.
    pub async fn start(&self, redirect: &str, return_to: &str) -> Result<String, OidcError> {
        let client = self.client(redirect).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let mut pending = self.pending.lock();
        let now = Instant::now();
        pending.retain(|_, p| now.duration_since(p.started) < PENDING_TTL);
        if pending.len() >= MAX_PENDING {
            return Err(OidcError::Provider("too many sign-ins in progress".into()));
        }
        pending.insert(
            state.secret().clone(),
            Pending {
                nonce,
                verifier,
                redirect: redirect.to_string(),
                return_to: return_to.to_string(),
                started: now,
            },
        );
        Ok(url.to_string())
    }

    /// Finishes a sign-in: the code for tokens, the ID token verified, the claims mapped.
    pub async fn finish(&self, state: &str, code: &str) -> Result<SsoIdentity, OidcError> {
        let pending = self
            .pending
            .lock()
            .remove(state)
            .filter(|p| p.started.elapsed() < PENDING_TTL)
            .ok_or(OidcError::UnknownState)?;
        let client = self.client(&pending.redirect).await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(pending.verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Provider(e.to_string()))?;
        let id_token = openidconnect::TokenResponse::id_token(&token)
            .ok_or_else(|| OidcError::Invalid("the provider sent no ID token".into()))?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &pending.nonce)
            .map_err(|e| OidcError::Invalid(e.to_string()))?;
        let email = claims
            .email()
            .map(|e| e.as_str().to_string())
            .or_else(|| claims.preferred_username().map(|u| u.as_str().to_string()))
            .ok_or_else(|| OidcError::Invalid("the ID token names no e-mail address".into()))?;
        // The signature is verified above; read the claims the core types do not know.
        let payload = token_payload(&id_token.to_string())
            .ok_or_else(|| OidcError::Invalid("the ID token is not readable".into()))?;
        let (role, sites) = self.role_and_sites(&payload).ok_or(OidcError::NoRole)?;
        Ok(SsoIdentity {
            email,
            role,
            sites,
            return_to: pending.return_to,
        })
    }

    /// The highest role the claims give, and the sites.
    pub fn role_and_sites(&self, payload: &serde_json::Value) -> Option<(UserRole, Vec<String>)> {
        let values = strings(payload.get(&self.settings.roles_claim));
        let has = |wanted: &[String]| values.iter().any(|v| wanted.contains(v));
        let role = if has(&self.settings.admin_values) {
            UserRole::Admin
        } else if has(&self.settings.analyst_values) {
            UserRole::Analyst
        } else if has(&self.settings.viewer_values) {
            UserRole::Viewer
        } else {
            return None;
        };
        let sites = if self.settings.sites_claim.is_empty() {
            self.settings.default_sites.clone()
        } else {
            strings(payload.get(&self.settings.sites_claim))
        };
        Some((role, sites.into_iter().map(|s| s.to_lowercase()).collect()))
    }
}

/// A claim as a list of strings (one string, or a list of them).
fn strings(value: Option<&serde_json::Value>) -> Vec<String> {
    match value {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The JSON payload of a JWT (its middle part).
fn token_payload(jwt: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn oidc() -> Oidc {
        Oidc::new(OidcSettings {
            roles_claim: "groups".into(),
            admin_values: vec!["luister-beheer".into()],
            analyst_values: vec!["luister-analist".into()],
            viewer_values: vec!["luister-lezer".into()],
            sites_claim: "luister_sites".into(),
            ..Default::default()
        })
    }

    #[test]
    fn claims_map_to_the_highest_role() {
        let o = oidc();
        let both = json!({"groups": ["luister-lezer", "luister-analist"], "luister_sites": ["Enschede.nl"]});
        assert_eq!(
            o.role_and_sites(&both),
            Some((UserRole::Analyst, vec!["enschede.nl".into()]))
        );
        assert_eq!(
            o.role_and_sites(&json!({"groups": "luister-beheer"}))
                .unwrap()
                .0,
            UserRole::Admin
        );
        assert_eq!(o.role_and_sites(&json!({"groups": ["iets-anders"]})), None);
        assert_eq!(o.role_and_sites(&json!({})), None);
    }

    #[test]
    fn payloads_decode() {
        use base64::Engine;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"1","groups":["a"]}"#);
        assert_eq!(
            token_payload(&format!("x.{body}.y")).unwrap()["groups"][0],
            "a"
        );
        assert!(token_payload("nonsense").is_none());
    }
}
