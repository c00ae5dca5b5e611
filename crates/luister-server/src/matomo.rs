//! `GET|POST /matomo.php` and `/piwik.php`: Matomo's HTTP Tracking API, so a site's
//! existing Matomo tracker can send to Luister unchanged.
//!
//! A request is read from the query string (GET), from a form body plus the query string
//! (POST; the body wins) or from a bulk body `{"requests": ["?idsite=…", …]}`. Decoding
//! is [`luister_ingest::matomo`]'s; from there on an event takes the same path as one from
//! `/api/event`. Answers: a 1×1 GIF (204 with `send_image=0`), for bulk Matomo's JSON
//! `{"status": "success", "tracked": n, "invalid": m}`; 400 JSON for a request that cannot
//! be recorded (unknown `idsite` included), 503 when the spool refuses.
//!
//! `cip` and `cdt` (a server-side tracker's visitor address and time) are applied only
//! when `token_auth` is a Luister token that may write to the request's site: the admin
//! token, or a `write` or `admin` token that names the site. Any other `token_auth` sent
//! with them is refused with 403, so a misconfigured back-end learns it at once instead
//! of counting its own server as every visitor; failed tokens count against the same
//! per-address limit as the API's bearer tokens.

use crate::api::{authenticate_client, ApiError};
use crate::collector::{error, ingest, request_context};
use crate::rate_limit::client_key;
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use luister_ingest::matomo::{
    decode_matomo_bulk, decode_matomo_request, is_bulk_body, wants_image, MatomoError,
    MatomoRequest,
};
use luister_metrics as metrics;
use luister_model::RawEvent;
use luister_store::TokenScope;
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;

/// Largest accepted body (bulk requests carry many actions).
pub(crate) const MAX_BODY: usize = 1 << 20;

/// A transparent 1×1 GIF, the answer Matomo's image tracker expects.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, // GIF89a
    0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1×1, global colour table of 2
    0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // black, white
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // colour 0 is transparent
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image 1×1
    0x02, 0x02, 0x44, 0x01, 0x00, // pixel data
    0x3b, // end
];

pub(crate) async fn track(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let ctx = request_context(&req, &state);
    let client = client_key(ctx.ip);
    let query = req.query_string();
    if req.method() == actix_web::http::Method::POST && is_bulk_body(&body) {
        return bulk(&state, &body, &ctx, client).await;
    }
    // A form body first: its parameters win over those repeated in the URL.
    let params = match req.method() {
        &actix_web::http::Method::POST if !body.is_empty() => {
            let form = String::from_utf8_lossy(&body);
            format!("{}&{query}", form.trim())
        }
        _ => query.to_string(),
    };
    let mut request = match decode_matomo_request(&params, &ctx, state.pipeline.sites()) {
        Ok(request) => request,
        Err(e) => return refuse(&e),
    };
    if let Err(refusal) = TokenCheck::new(&state, client).apply(&mut request).await {
        return refusal.response();
    }
    if let Some(response) = store(&state, &request.events).await {
        return response;
    }
    if wants_image(&params) {
        HttpResponse::Ok()
            .content_type("image/gif")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(PIXEL)
    } else {
        HttpResponse::NoContent().finish()
    }
}

async fn bulk(
    state: &web::Data<AppState>,
    body: &[u8],
    ctx: &luister_ingest::decode::RequestContext,
    client: IpAddr,
) -> HttpResponse {
    let mut decoded = match decode_matomo_bulk(body, ctx, state.pipeline.sites()) {
        Ok(decoded) => decoded,
        Err(e) => return refuse(&e),
    };
    let mut first_error = decoded.first_error.as_ref().map(ToString::to_string);
    let mut tokens = TokenCheck::new(state, client);
    let (mut events, malformed) = (Vec::new(), decoded.invalid);
    for mut request in std::mem::take(&mut decoded.requests) {
        match tokens.apply(&mut request).await {
            Ok(()) => events.append(&mut request.events),
            Err(ClaimRefusal::Unavailable(response)) => return response,
            Err(refusal) => {
                decoded.tracked -= 1;
                decoded.invalid += 1;
                first_error.get_or_insert_with(|| refusal.message());
            }
        }
    }
    for (reason, count) in [
        ("malformed", malformed),
        ("unauthorized", decoded.invalid - malformed),
    ] {
        if count > 0 {
            metrics::EVENTS_DROPPED
                .with_label_values(&[reason])
                .inc_by(count as u64);
        }
    }
    if decoded.tracked == 0 {
        if let Some(e) = first_error {
            return HttpResponse::BadRequest().json(
                json!({ "status": "error", "error": e, "tracked": 0, "invalid": decoded.invalid }),
            );
        }
    }
    if let Some(response) = store(state, &events).await {
        return response;
    }
    HttpResponse::Ok().json(
        json!({ "status": "success", "tracked": decoded.tracked, "invalid": decoded.invalid }),
    )
}

/// Why a request's `cip`/`cdt` were not applied.
enum ClaimRefusal {
    /// The token is unknown, or may not write to the site.
    NotAllowed(String),
    /// Too many failed tokens from this address.
    Limited(HttpResponse),
    /// The token store could not be asked (503): nothing is stored, the sender retries.
    Unavailable(HttpResponse),
}

impl ClaimRefusal {
    fn message(&self) -> String {
        match self {
            Self::NotAllowed(domain) => format!(
                "token_auth is not a Luister write token for {domain}; cip and cdt need one"
            ),
            Self::Limited(_) => "too many failed token_auth attempts; try again later".into(),
            Self::Unavailable(_) => "the token store is unavailable".into(),
        }
    }

    fn response(self) -> HttpResponse {
        match self {
            Self::NotAllowed(_) => {
                metrics::EVENTS_DROPPED
                    .with_label_values(&["unauthorized"])
                    .inc();
                error(StatusCode::FORBIDDEN, &self.message())
            }
            Self::Limited(response) | Self::Unavailable(response) => response,
        }
    }
}

/// Checks `token_auth` for requests that carry claims; remembers each answer, as one bulk
/// body usually repeats one token for one site.
struct TokenCheck<'a> {
    state: &'a web::Data<AppState>,
    client: IpAddr,
    allowed: HashMap<(String, String), bool>,
}

impl<'a> TokenCheck<'a> {
    fn new(state: &'a web::Data<AppState>, client: IpAddr) -> Self {
        Self {
            state,
            client,
            allowed: HashMap::new(),
        }
    }

    /// Applies the request's claims when its token may write to its site.
    async fn apply(&mut self, request: &mut MatomoRequest) -> Result<(), ClaimRefusal> {
        let (Some(claims), Some(event)) = (&request.claims, request.events.first()) else {
            return Ok(()); // nothing claimed, or nothing stored to apply it to
        };
        let key = (claims.token.clone(), event.domain.clone());
        let allowed = match self.allowed.get(&key) {
            Some(&allowed) => allowed,
            None => {
                let allowed = self.may_write(&key.0, &key.1).await?;
                self.allowed.insert(key.clone(), allowed);
                allowed
            }
        };
        if !allowed {
            return Err(ClaimRefusal::NotAllowed(key.1));
        }
        claims.clone().apply(&mut request.events);
        Ok(())
    }

    async fn may_write(&self, token: &str, domain: &str) -> Result<bool, ClaimRefusal> {
        match authenticate_client(self.state.clone(), self.client, Some(token.into())).await {
            Ok(caller) => Ok(caller.can_read(domain) && caller.scope >= TokenScope::Write),
            Err(ApiError::Unauthorized) => Ok(false),
            Err(e @ ApiError::TooManyFailures(_)) => Err(ClaimRefusal::Limited(e.error_response())),
            Err(e) => {
                tracing::warn!(error = %e, "checking a Matomo token_auth failed");
                Err(ClaimRefusal::Unavailable(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the token store is unavailable; retry later",
                )))
            }
        }
    }
}

/// Counts and ingests; `Some` is the error answer when the events were refused.
async fn store(state: &AppState, events: &[RawEvent]) -> Option<HttpResponse> {
    if events.is_empty() {
        return None;
    }
    metrics::EVENTS_RECEIVED
        .with_label_values(&["matomo"])
        .inc_by(events.len() as u64);
    ingest(state, events)
        .await
        .err()
        .map(|refusal| refusal.response())
}

fn refuse(e: &MatomoError) -> HttpResponse {
    let reason = match e {
        MatomoError::UnknownSite(_) => "unknown_site",
        _ => "malformed",
    };
    metrics::EVENTS_DROPPED.with_label_values(&[reason]).inc();
    error(StatusCode::BAD_REQUEST, &e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_is_a_well_formed_gif() {
        assert_eq!(PIXEL.len(), 43);
        assert!(PIXEL.starts_with(b"GIF89a"));
        assert_eq!(&PIXEL[6..10], &[1, 0, 1, 0], "1×1");
        assert_eq!(PIXEL.last(), Some(&0x3b));
    }
}
