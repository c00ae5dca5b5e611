//! `GET|POST /matomo.php` and `/piwik.php`: Matomo's HTTP Tracking API, so a site's
//! existing Matomo tracker can send to Luister unchanged.
//!
//! A request is read from the query string (GET), from a form body plus the query string
//! (POST; the body wins) or from a bulk body `{"requests": ["?idsite=…", …]}`. Decoding
//! is [`luister_ingest::matomo`]'s; from there on an event takes the same path as one from
//! `/api/event`. Answers: a 1×1 GIF (204 with `send_image=0`), for bulk Matomo's JSON
//! `{"status": "success", "tracked": n, "invalid": m}`; 400 JSON for a request that cannot
//! be recorded (unknown `idsite` included), 503 when the spool refuses.

use crate::collector::{error, ingest, request_context};
use crate::state::AppState;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use luister_ingest::matomo::{
    decode_matomo, decode_matomo_bulk, is_bulk_body, wants_image, MatomoError,
};
use luister_metrics as metrics;
use luister_model::RawEvent;
use serde_json::json;

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
    let query = req.query_string();
    if req.method() == actix_web::http::Method::POST && is_bulk_body(&body) {
        return bulk(&state, &body, &ctx).await;
    }
    // A form body first: its parameters win over those repeated in the URL.
    let params = match req.method() {
        &actix_web::http::Method::POST if !body.is_empty() => {
            let form = String::from_utf8_lossy(&body);
            format!("{}&{query}", form.trim())
        }
        _ => query.to_string(),
    };
    let events = match decode_matomo(&params, &ctx, state.pipeline.sites()) {
        Ok(events) => events,
        Err(e) => return refuse(&e),
    };
    if let Some(response) = store(&state, &events).await {
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
    state: &AppState,
    body: &[u8],
    ctx: &luister_ingest::decode::RequestContext,
) -> HttpResponse {
    let decoded = match decode_matomo_bulk(body, ctx, state.pipeline.sites()) {
        Ok(decoded) => decoded,
        Err(e) => return refuse(&e),
    };
    if decoded.invalid > 0 {
        metrics::EVENTS_DROPPED
            .with_label_values(&["malformed"])
            .inc_by(decoded.invalid as u64);
    }
    if decoded.tracked == 0 {
        if let Some(e) = &decoded.first_error {
            return HttpResponse::BadRequest()
                .json(json!({ "status": "error", "error": e.to_string(), "tracked": 0, "invalid": decoded.invalid }));
        }
    }
    if let Some(response) = store(state, &decoded.events).await {
        return response;
    }
    HttpResponse::Ok().json(
        json!({ "status": "success", "tracked": decoded.tracked, "invalid": decoded.invalid }),
    )
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
