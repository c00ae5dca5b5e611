//! Ops endpoints: liveness, readiness, Prometheus metrics.

use crate::state::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

/// `GET /health`: the process is up.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /ready`: ClickHouse answers and the spool directory is writable.
pub(crate) async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let clickhouse = state.store.ping().await;
    let probe = state.spool.dir().join(".ready-probe");
    let spool = std::fs::write(&probe, b"ok")
        .and_then(|_| std::fs::remove_file(&probe))
        .is_ok();
    let body = json!({
        "clickhouse": if clickhouse { "ok" } else { "unreachable" },
        "spool": if spool { "ok" } else { "not writable" },
        "spool_rows": state.spool.stats().records(),
    });
    if clickhouse && spool {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(luister_metrics::render())
}
