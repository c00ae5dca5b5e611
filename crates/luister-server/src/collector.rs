//! `POST /api/event`: Plausible's Events API. Decode, run the pipeline, spool, answer 202.

use crate::rate_limit::{client_key, retry_after_secs};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use luister_ingest::decode::{decode_plausible, RequestContext};
use luister_ingest::{DropReason, Processed};
use luister_metrics as metrics;
use luister_model::RawEvent;
use luister_spool::{Batch, SpoolError};
use serde_json::json;
use std::time::Duration;

/// The client's address: the peer, or what a trusted proxy says (see [`crate::TrustedProxies`]).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Option<std::net::IpAddr> {
    let header = state.settings.forwarded_header;
    let lines = req
        .headers()
        .get_all(header.name())
        .filter_map(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|a| a.ip());
    state
        .settings
        .trusted_proxies
        .client_ip(peer, header, lines)
}

/// The request facts the pipeline needs: when, from which client address, which browser.
pub(crate) fn request_context(req: &HttpRequest, state: &AppState) -> RequestContext {
    RequestContext {
        received_at: state.clock.now(),
        ip: client_ip(req, state),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(1024)
            .collect(),
    }
}

pub(crate) async fn post_event(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let ctx = request_context(&req, &state);
    let events = match decode_plausible(&body, &ctx) {
        Ok(events) => events,
        Err(e) => {
            metrics::EVENTS_DROPPED
                .with_label_values(&[e.drop_label()])
                .inc();
            return error(StatusCode::BAD_REQUEST, &e.to_string());
        }
    };
    metrics::EVENTS_RECEIVED
        .with_label_values(&["plausible"])
        .inc_by(events.len() as u64);
    match ingest(&state, &events).await {
        Ok(_) => HttpResponse::Accepted()
            .content_type("text/plain")
            .body("ok"),
        Err(refusal) => refusal.response(),
    }
}

/// How long a sender refused for a full spool should wait: a few flushes.
const SPOOL_RETRY_AFTER_SECONDS: u64 = 5;

/// `status` with the error body and a `Retry-After` header.
fn retry_later(status: StatusCode, message: &str, seconds: u64) -> HttpResponse {
    let mut response = error(status, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    response
}

/// Why a request's events were refused as a whole.
pub(crate) enum IngestRefusal {
    /// Every event was dropped for a reason the sender must fix (unknown site, bad URL).
    Client(DropReason),
    Spool(SpoolError),
    /// The client (or the site) sends faster than its rate limit; wait this long.
    RateLimited {
        limit: &'static str,
        wait: Duration,
    },
}

impl IngestRefusal {
    /// The one place a refusal becomes an HTTP answer, for every collector endpoint.
    pub(crate) fn response(&self) -> HttpResponse {
        match self {
            IngestRefusal::Client(reason) => error(StatusCode::BAD_REQUEST, &reason.to_string()),
            IngestRefusal::Spool(e) => retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                &e.to_string(),
                SPOOL_RETRY_AFTER_SECONDS,
            ),
            IngestRefusal::RateLimited { limit, wait } => retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("too many events from this {limit}; slow down"),
                retry_after_secs(*wait),
            ),
        }
    }
}

/// Runs the pipeline over decoded events and spools what survives.
///
/// Returns how many were accepted. Bots are dropped silently (as Plausible does).
pub(crate) async fn ingest(state: &AppState, events: &[RawEvent]) -> Result<usize, IngestRefusal> {
    // Refuse before the sessionizer changes state, so a refused event leaves no trace.
    state.spool.check_room().map_err(IngestRefusal::Spool)?;
    check_rates(state, events)?;
    state
        .learn_new_sites(events.iter().map(|e| e.domain.as_str()))
        .await;
    let mut batch = Batch::default();
    let mut client_error = None;
    for raw in events {
        match process(state, raw).await {
            Ok(processed) => {
                batch.events.push(processed.event);
                batch.sessions.extend(processed.sessions);
            }
            Err(reason) => {
                metrics::EVENTS_DROPPED
                    .with_label_values(&[reason.as_str()])
                    .inc();
                if reason.is_client_error() {
                    client_error = Some(reason);
                }
            }
        }
    }
    if batch.events.is_empty() {
        return match client_error {
            Some(reason) => Err(IngestRefusal::Client(reason)),
            None => Ok(0),
        };
    }
    let accepted = batch.events.len();
    state.spool.append(&batch).map_err(|e| {
        metrics::EVENTS_DROPPED
            .with_label_values(&["spool_refused"])
            .inc_by(accepted as u64);
        IngestRefusal::Spool(e)
    })?;
    Ok(accepted)
}

/// Takes the events from the client's and their sites' buckets, or says how long to wait.
fn check_rates(state: &AppState, events: &[RawEvent]) -> Result<(), IngestRefusal> {
    let Some(first) = events.first() else {
        return Ok(());
    };
    let now = std::time::Instant::now();
    let limited = |limit: &'static str, wait| {
        metrics::RATE_LIMITED.with_label_values(&[limit]).inc();
        metrics::EVENTS_DROPPED
            .with_label_values(&["rate_limited"])
            .inc_by(events.len() as u64);
        IngestRefusal::RateLimited { limit, wait }
    };
    state
        .limiters
        .collector_client
        .take(&client_key(first.ip), events.len() as f64, now)
        .map_err(|wait| limited("client", wait))?;
    for event in events {
        state
            .limiters
            .collector_site
            .take(&event.domain, 1.0, now)
            .map_err(|wait| limited("site", wait))?;
    }
    Ok(())
}

/// The pipeline, fetching a salt this collector has not seen yet (just after midnight).
async fn process(state: &AppState, raw: &RawEvent) -> Result<Processed, DropReason> {
    match state.pipeline.process(raw) {
        Err(DropReason::NoSalt) => {
            let rotation = state
                .pipeline
                .sites()
                .get(&raw.domain)
                .map(|s| s.salt_rotation)
                .unwrap_or_default();
            if let Err(e) = state
                .salts
                .ensure_for(rotation, raw.timestamp.date_naive())
                .await
            {
                metrics::CLICKHOUSE_ERRORS
                    .with_label_values(&["salt"])
                    .inc();
                tracing::warn!("creating salt: {e}");
            }
            state.pipeline.process(raw)
        }
        other => other,
    }
}

/// The JSON error body every collector endpoint uses.
pub(crate) fn error(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}
