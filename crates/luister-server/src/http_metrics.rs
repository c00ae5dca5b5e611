//! Counts and times every HTTP request by its matched route pattern.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use luister_metrics as metrics;
use std::time::Instant;

/// Middleware: unmatched paths share the label `unmatched`, so scanners cannot blow up the label set.
pub(crate) async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_string();
    let response = next.call(req).await;
    let status = match &response {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    metrics::HTTP_REQUESTS
        .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
        .inc();
    metrics::HTTP_SECONDS
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}
