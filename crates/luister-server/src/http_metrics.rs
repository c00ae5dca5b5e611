//! Counts and times every HTTP request by its matched route pattern.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use luister_metrics as metrics;
use std::time::Instant;

/// Middleware: every label comes from a fixed set (route patterns, with `unmatched` for the
/// rest; known methods, else `other`; status classes), so scanners cannot blow up the series.
pub(crate) async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let response = next.call(req).await;
    let status = match &response {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    metrics::HTTP_REQUESTS
        .with_label_values(&[route.as_str(), method, status_class(status)])
        .inc();
    metrics::HTTP_SECONDS
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: one of the standard methods, else `other`.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or("other")
}

/// `2xx`, `4xx`, …: the class of a status code.
fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::Method;

    #[test]
    fn labels_come_from_fixed_sets() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"PROBE1").unwrap()),
            "other"
        );
        assert_eq!(status_class(202), "2xx");
        assert_eq!(status_class(415), "4xx");
        assert_eq!(status_class(999), "5xx");
    }
}
