//! Request and response rules that hold for every route: no compressed request bodies,
//! and the security headers every answer carries.
//!
//! No tracker, Matomo client or API client we support compresses what it sends, while a
//! compressed body is the cheapest way to make a server inflate gigabytes (a 58 KB gzip
//! body holds 60 MB of zeros). So a request with a `Content-Encoding` other than
//! `identity` is refused with 415 before its body is read or inflated.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

/// Middleware: refuse encoded request bodies; add the security headers to every answer.
pub(crate) async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(encoding) = refused_encoding(&req) {
        let response = HttpResponse::UnsupportedMediaType().json(serde_json::json!({
            "error": format!(
                "compressed request bodies are not accepted (Content-Encoding: {encoding}); send the body uncompressed"
            )
        }));
        let mut response = req.into_response(response).map_into_right_body();
        add_security_headers(&mut response);
        return Ok(response);
    }
    let api = req.path().starts_with(crate::api::PREFIX)
        || req.path().starts_with(crate::api::LUISTER_PREFIX);
    let mut response = next.call(req).await?.map_into_left_body();
    add_security_headers(&mut response);
    if api {
        // Numbers about citizens must not linger in shared caches or the browser's.
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // NL GOV API Design Rules: the full version of the API in every answer.
        headers.insert(
            header::HeaderName::from_static("api-version"),
            HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
    }
    Ok(response)
}

/// The `Content-Encoding` of a request, unless it is absent or `identity`.
fn refused_encoding(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::CONTENT_ENCODING)?;
    let text = value.to_str().unwrap_or("(not text)").trim();
    let identity = text
        .split(',')
        .all(|part| part.trim().is_empty() || part.trim().eq_ignore_ascii_case("identity"));
    (!identity).then(|| text.chars().take(40).collect())
}

fn add_security_headers<B>(response: &mut ServiceResponse<B>) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}
